/**
 * @module budget
 * What one request may spend: bytes of RESPONSE, rows read, wall time. Each command's answer is written as a
 * fragment as soon as the command finishes, so its size is known before the next one runs; a budget spent
 * stops the batch there, and every command not yet run answers the budget's MESSAGE instead of running.
 */
import type { Verb } from './commands.js';
import { failure, type Failure } from './errors.js';
import { failed, type Outcome } from './outcome.js';
import { buildAnswer, joinResponse, RESPONSE_CLOSE, RESPONSE_OPEN } from './xml/build.js';

export interface BudgetConfig {
  /** Most bytes of one RESPONSE (UTF-8). */
  readonly maxResponseBytes: number;
  /** Most rows one request's reads may return. */
  readonly maxRows: number;
  /** Most wall time of one request, in ms, from the moment its commands start. */
  readonly timeoutMs: number;
}

export const DEFAULT_BUDGET: BudgetConfig = { maxResponseBytes: 32 * 1024 * 1024, maxRows: 100_000, timeoutMs: 60_000 };

export interface Label {
  readonly verb: Verb | undefined;
  readonly name: string | undefined;
}

/** Which budget a command ran into; `what` finishes the MESSAGE's sentence. */
export type Spent = 'bytes' | 'rows' | 'time';

const CODES = { bytes: 'BUDGET_RESPONSE_BYTES', rows: 'BUDGET_ROWS', time: 'BUDGET_TIME' } as const;

export const NOT_RUN_WHAT = 'did not run';
/** The longest `what` any caller passes: the reserve for each command's cut MESSAGE is measured with it. */
const LONGEST_WHAT = 'ran, but its answer is left out: it does not fit in what remains';
/** Codes a command that did not run its course may answer; the reserve holds the longest of them. */
const SHORT_CODES = ['BUDGET_RESPONSE_BYTES', 'BUDGET_ROWS', 'BUDGET_TIME', 'TRANSACTION_CONFLICT', 'ROLLED_BACK', 'NOT_RUN'] as const;
const LONG_PARAMS = { limit: Number.MAX_SAFE_INTEGER, what: LONGEST_WHAT, failed: 99_999, reason: 'serialization failure', attempts: 99 };

const byteLength = (s: string) => Buffer.byteLength(s, 'utf8');

/**
 * The account of one request. Made when its commands start; the batch asks `stop()` before each command,
 * hands each finished outcome to `settle()`, and the engine writes the RESPONSE with `response()`.
 */
export class RequestBudget {
  readonly deadline: number;
  private bytes: number;
  private rows = 0;
  private spent: Spent | undefined;
  /** The fragment written for each settled outcome, kept with the outcome it was written for. */
  private readonly fragments: ({ outcome: Outcome; xml: string } | undefined)[];
  /** reserve[i]: bytes kept for the short MESSAGEs of the commands after i. */
  private readonly reserve: number[];

  constructor(readonly config: BudgetConfig, private readonly labels: readonly Label[], now = Date.now()) {
    this.deadline = now + config.timeoutMs;
    this.bytes = byteLength(RESPONSE_OPEN + RESPONSE_CLOSE);
    this.fragments = new Array(labels.length);
    this.reserve = new Array<number>(labels.length);
    // The longest short MESSAGE without a name, once; each command adds its own name attribute.
    const base = Math.max(...SHORT_CODES.map((code) => byteLength(buildAnswer({ verb: 'AUTHORIZE', name: undefined, outcome: failed(failure(code, LONG_PARAMS)) }))));
    let after = 0;
    for (let i = labels.length - 1; i >= 0; i--) {
      this.reserve[i] = after;
      const name = labels[i]!.name;
      after += base + (name === undefined ? 0 : byteLength(buildAnswer({ verb: undefined, name, outcome: failed(failure('NOT_RUN')) })));
    }
  }

  /** Rows the reads of the request may still return (a WHERE's too). */
  rowsLeft(): number {
    return this.config.maxRows - this.rows;
  }

  remainingMs(now = Date.now()): number {
    return this.deadline - now;
  }

  /** The failure a command answers when it stopped on budget `spent`. */
  failure(spent: Spent, what = NOT_RUN_WHAT): Failure {
    const limit = spent === 'bytes' ? this.config.maxResponseBytes : spent === 'rows' ? this.config.maxRows : this.config.timeoutMs;
    return failure(CODES[spent], { limit, what });
  }

  /** Why the next command may not start, or undefined. Once a budget is spent the batch stays stopped. */
  stop(): Failure | undefined {
    if (!this.spent && this.remainingMs() <= 0) this.spent = 'time';
    if (!this.spent && this.rows >= this.config.maxRows) this.spent = 'rows';
    return this.spent ? this.failure(this.spent) : undefined;
  }

  /**
   * Accounts a finished command: the rows it read, the bytes of its answer. Returns the outcome, or the budget
   * failure that stands in for an answer that does not fit (only RESULTS are refused so: a MESSAGE is short, and
   * a write's MESSAGE says what was written).
   */
  settle(index: number, outcome: Outcome): Outcome {
    let settled = outcome;
    if (outcome.kind === 'results') {
      this.rows += outcome.rows.length;
      if (this.rows > this.config.maxRows) settled = this.cut(index, 'rows', 'read more rows than remained; its answer is left out');
    }
    // A WHERE read the rows it wrote; one that would have read more than remained wrote nothing, and the batch stops.
    if (outcome.kind === 'done') this.rows += outcome.read ?? 0;
    if (outcome.kind === 'failed' && outcome.failure.code === 'BUDGET_ROWS') this.spent ??= 'rows';
    let xml = buildAnswer({ ...this.labels[index]!, outcome: settled });
    let size = byteLength(xml);
    const big = settled.kind === 'results' || settled.kind === 'called';
    if (big && this.bytes + size + this.reserve[index]! > this.config.maxResponseBytes) {
      settled = this.cut(index, 'bytes', settled.kind === 'called' ? LONGEST_WHAT : 'was read, but its answer is left out: it does not fit in what remains');
      xml = buildAnswer({ ...this.labels[index]!, outcome: settled });
      size = byteLength(xml);
    }
    this.bytes += size;
    if (!this.spent && this.bytes + this.reserve[index]! >= this.config.maxResponseBytes) this.spent = 'bytes';
    this.fragments[index] = { outcome: settled, xml };
    return settled;
  }

  private cut(index: number, spent: Spent, what: string): Outcome {
    this.spent ??= spent;
    return failed(this.failure(spent, what), undefined);
  }

  /** The account as it stands, to return to when an atomic batch is run again from its start. */
  mark(): () => void {
    const { bytes, rows, spent } = this;
    return () => {
      this.bytes = bytes;
      this.rows = rows;
      this.spent = spent;
    };
  }

  /** The RESPONSE of the final outcomes: the fragments already written, and new ones where an outcome changed (a rollback). */
  response(outcomes: readonly Outcome[]): string {
    return joinResponse(outcomes.map((outcome, i) => {
      const kept = this.fragments[i];
      return kept && kept.outcome === outcome ? kept.xml : buildAnswer({ ...this.labels[i]!, outcome });
    }));
  }
}
