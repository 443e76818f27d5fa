/**
 * @module test/helpers/chromium
 * The headless Chromium that the suite (test/auth/browser.test.ts) and the benchmark chart (bench/chart.ts)
 * drive through playwright-core, found the same way everywhere:
 *
 * - `CHROMIUM_PATH`, a Chromium binary, when set;
 * - else `NORI_TEST_BROWSER=system`: Debian's /usr/bin/chromium;
 * - `NORI_TEST_BROWSER=npm`: the headless Chromium inside the npm package @sparticuz/chromium, unpacked once
 *   into node_modules/.cache with the few libraries it links (NSS, NSPR, expat) and its fonts, so it needs
 *   nothing from the system but glibc;
 * - unset (`auto`): the system one where it is installed, else the npm one.
 *
 * CI sets `npm` to prove that a machine with Node alone passes. Nothing skips: no browser is a failure that
 * says how to get one.
 */
import { execFile } from 'node:child_process';
import { constants, createReadStream, createWriteStream, existsSync, readFileSync } from 'node:fs';
import { access, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createBrotliDecompress } from 'node:zlib';
import { chromium, type Browser } from 'playwright-core';

const run = promisify(execFile);
const SYSTEM_CHROMIUM = '/usr/bin/chromium';
const CHOICES = ['auto', 'system', 'npm'] as const;
type Choice = (typeof CHOICES)[number];

/** A Chromium to launch: its binary, where it comes from, and what its process needs in its environment. */
export interface ChromiumBinary {
  readonly executablePath: string;
  /** Said in failures and in the suite's output: which browser the run used. */
  readonly source: string;
  readonly env?: Readonly<Record<string, string>>;
}

/** The flags every launch gets: no sandbox (CI runs as root), and nothing that reaches out of the machine. */
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** What NORI_TEST_BROWSER asks for; an unknown value is refused, naming the ones there are. */
export function browserChoice(env: NodeJS.ProcessEnv = process.env): Choice {
  const value = env.NORI_TEST_BROWSER || 'auto';
  if (!(CHOICES as readonly string[]).includes(value)) throw new Error(`NORI_TEST_BROWSER=${value} is not one of ${CHOICES.join(', ')}`);
  return value as Choice;
}

const executable = (file: string) => access(file, constants.X_OK).then(() => true, () => false);

/** The Chromium this run uses (see the module's header). */
export async function findChromium(env: NodeJS.ProcessEnv = process.env): Promise<ChromiumBinary> {
  if (env.CHROMIUM_PATH) {
    if (!(await executable(env.CHROMIUM_PATH))) throw new Error(`CHROMIUM_PATH=${env.CHROMIUM_PATH} is not an executable file`);
    return { executablePath: env.CHROMIUM_PATH, source: `CHROMIUM_PATH (${env.CHROMIUM_PATH})` };
  }
  const choice = browserChoice(env);
  if (choice !== 'npm' && (await executable(SYSTEM_CHROMIUM))) return { executablePath: SYSTEM_CHROMIUM, source: `the system's ${SYSTEM_CHROMIUM}` };
  if (choice === 'system') throw new Error(`NORI_TEST_BROWSER=system and there is no Chromium at ${SYSTEM_CHROMIUM}: apt-get install chromium, or leave NORI_TEST_BROWSER unset for the one npm installs`);
  return npmChromium();
}

/** Launches the run's Chromium headless; a browser that does not start fails naming it. */
export async function launchChromium(env: NodeJS.ProcessEnv = process.env): Promise<{ browser: Browser; binary: ChromiumBinary }> {
  const binary = await findChromium(env);
  try {
    const browser = await chromium.launch({
      executablePath: binary.executablePath,
      headless: true,
      args: ARGS,
      ...(binary.env && { env: { ...process.env, ...binary.env } }),
    });
    return { browser, binary };
  } catch (e) {
    throw new Error(`Chromium from ${binary.source} did not start: ${(e as Error).message}`, { cause: e });
  }
}

/** The package's folder of compressed files: chromium.br, al2023.tar.br (its libraries), fonts.tar.br. */
function packedFolder(): { bin: string; version: string } {
  const require = createRequire(import.meta.url);
  let entry: string;
  try {
    entry = require.resolve('@sparticuz/chromium');
  } catch (cause) {
    throw new Error('no system Chromium and no @sparticuz/chromium in node_modules: run npm install (it is a devDependency), or apt-get install chromium', { cause });
  }
  const root = join(dirname(entry), '..');
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  return { bin: join(root, 'bin'), version };
}

async function unbrotli(from: string, to: string, mode?: number): Promise<void> {
  await pipeline(createReadStream(from), createBrotliDecompress(), createWriteStream(to, mode === undefined ? {} : { mode }));
}

/**
 * The npm Chromium, unpacked into node_modules/.cache/nori-chromium/<version>: the binary, lib/ with the
 * libraries it links, and fonts/ with a fonts.conf naming them. Unpacked into a folder of its own and renamed
 * into place whole, so that concurrent runs never see half of it.
 */
async function npmChromium(): Promise<ChromiumBinary> {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`the Chromium npm installs (@sparticuz/chromium) is built for Linux x64, not ${process.platform}-${process.arch}: set CHROMIUM_PATH to a Chromium binary`);
  }
  const { bin, version } = packedFolder();
  const cache = fileURLToPath(new URL('../../node_modules/.cache/nori-chromium/', import.meta.url));
  const dir = join(cache, version);
  const binary: ChromiumBinary = {
    executablePath: join(dir, 'chromium'),
    source: `@sparticuz/chromium ${version}`,
    env: { LD_LIBRARY_PATH: [join(dir, 'lib'), process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'), FONTCONFIG_PATH: join(dir, 'fonts') },
  };
  if (existsSync(binary.executablePath)) return binary;

  await mkdir(cache, { recursive: true });
  const partial = await mkdtemp(join(cache, `${version}.partial-`));
  try {
    await unbrotli(join(bin, 'chromium.br'), join(partial, 'chromium'), 0o755);
    for (const archive of ['al2023', 'fonts']) {
      const tar = join(partial, `${archive}.tar`);
      await unbrotli(join(bin, `${archive}.tar.br`), tar);
      await run('tar', ['-xf', tar, '-C', partial]);
      await rm(tar);
    }
    await rm(join(partial, 'fonts.conf')); // the package's, naming Lambda's folders
    // Fontconfig reads FONTCONFIG_PATH/fonts.conf: only the fonts unpacked here, on every machine.
    const conf = `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n  <dir>${join(dir, 'fonts')}</dir>\n  <cachedir>${join(dir, 'fonts-cache')}</cachedir>\n</fontconfig>\n`;
    await writeFile(join(partial, 'fonts', 'fonts.conf'), conf);
    await rename(partial, dir);
  } catch (e) {
    await rm(partial, { recursive: true, force: true });
    if (!existsSync(binary.executablePath)) throw new Error(`could not unpack @sparticuz/chromium ${version} into ${dir}: ${(e as Error).message}`, { cause: e });
    // another run renamed its copy into place first: use that one
  }
  return binary;
}
