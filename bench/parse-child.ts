/**
 * @module bench/parse-child
 * One side of the parsing benchmark in a fresh process (node --expose-gc), so that neither side inherits the
 * other's JIT state: saxes is one module, and the handlers one side installs slow the other down. Reads the
 * batch into a Buffer, as the HTTP layer hands it over. Prints one JSON line.
 *   time-nori <file> <passes>    the engine's parse and validation, after one warm-up pass: ms of each pass
 *   time-saxes <file> <passes>   decode and one bare saxes pass, the same way
 *   time-parse <file> <passes>   parseXml alone, each command dropped as it closes
 *   time-drop <file> <passes>    parseXml validating each command, then dropping it
 *   memory <file>                parse and validate, then build the RESPONSE its CREATEs get: peak RSS, and
 *                                the heap the commands and the answers keep
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Answer } from '../src/outcome.js';
import { buildResponse } from '../src/xml/build.js';
import { validateCommand } from '../src/validate.js';
import { parseXml } from '../src/xml/parse.js';
import { BIG_LIMITS, parseAndValidate, saxesCount } from './xml.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const [mode, file, passes = '3'] = process.argv.slice(2);
const body = readFileSync(file!);
const mb = (n: number) => n / (1 << 20);

function time(pass: () => unknown): number[] {
  const out: number[] = [];
  for (let i = 0; i <= Number(passes); i++) {
    gc!();
    const start = performance.now();
    pass();
    if (i > 0) out.push(performance.now() - start);
  }
  return out;
}

/** Resets the kernel's peak RSS of this process, where Linux allows it. */
function resetPeak(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

/** Peak resident memory in bytes since the last reset (Linux), else since the process started. */
function peakRss(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}

function memory() {
  const heap = () => {
    gc!();
    return process.memoryUsage().heapUsed;
  };
  const h0 = heap();
  const before = resetPeak() ? process.memoryUsage().rss : peakRss();
  const commands = parseAndValidate(body);
  const h1 = heap();
  const answers: Answer[] = commands.map((_, i) => ({
    verb: 'CREATE',
    name: undefined,
    outcome: { kind: 'done', code: 'CREATED', params: { element: 'WEBACCOUNT', id: i + 1 }, elementID: String(i + 1) },
  }));
  const xml = buildResponse(answers);
  const h2 = heap();
  const peak = peakRss();
  return {
    batchMB: mb(body.length),
    responseMB: mb(Buffer.byteLength(xml)),
    commands: commands.length,
    peakGrowthMB: mb(Math.max(0, peak - before)),
    commandsMB: mb(h1 - h0),
    responseHeapMB: mb(h2 - h1),
  };
}

// Out of the module's own evaluation first: a --cpu-prof profile leaves module loading out by its stack.
await new Promise((resolve) => setImmediate(resolve));
if (mode === 'time-nori') console.log(JSON.stringify(time(() => parseAndValidate(body))));
else if (mode === 'time-parse') console.log(JSON.stringify(time(() => parseXml(body, BIG_LIMITS, () => {}))));
else if (mode === 'time-drop') console.log(JSON.stringify(time(() => parseXml(body, BIG_LIMITS, (node) => void validateCommand(node, { maxPageSize: 1000, maxIds: 1000 })))));
else if (mode === 'time-saxes') console.log(JSON.stringify(time(() => saxesCount(body.toString('utf8')))));
else if (mode === 'memory') console.log(JSON.stringify(memory()));
else throw new Error(`unknown mode ${mode}`);
