/**
 * @module batch
 * Runs a batch's commands: each in its own transaction, or all in one when the QUERY is atomic. A command
 * that fails is rolled back and answers its MESSAGE; in an atomic batch every command then says so. CALL
 * runs outside any transaction (a service's effects cannot be rolled back), so an atomic batch refuses it.
 */
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { AuthService } from './auth/service.js';
import type { CallService } from './call/service.js';
import type { Registry } from './plugins/loader.js';
import type { Command, CreateCommand } from './commands.js';
import { NoriError, failure, type Failure } from './errors.js';
import type { RequestBudget } from './budget.js';
import { truncate } from './log.js';
import { failed, type Outcome } from './outcome.js';
import type { Principal } from './principal.js';
import type { WatchedTable } from './store/changes.js';
import type { Keyring } from './store/secrets.js';
import { createMany } from './verbs/create.js';
import { handlerFor, type HandlerContext } from './verbs/index.js';

export interface BatchDeps {
  readonly knex: Knex;
  readonly keyring: Keyring;
  readonly logger: Logger;
  readonly auth: AuthService;
  readonly calls: CallService;
  readonly plugins: Registry;
  /** A command may have changed a cached table: this process's caches drop it before the next command runs. */
  readonly changed: (table: WatchedTable) => void;
  /** Whether transactions set statement_timeout to the request's remaining time (PostgreSQL). */
  readonly statementTimeouts: boolean;
}

/** A validated command, or why it is invalid. */
export type Item = Command | Failure;

const isCommand = (i: Item): i is Command => 'verb' in i;

/** Carries a failed outcome out of knex.transaction so that it rolls back. */
class Rollback {
  constructor(readonly outcome: Outcome, readonly index: number) {}
}

/** Unexpected errors: logged with an incident id (message and code only: a driver's detail may quote values). */
function incident(deps: BatchDeps, e: unknown, budget: RequestBudget): Outcome {
  if (e instanceof NoriError) return failed(e.failure);
  // 57014: a statement PostgreSQL cancelled, here because it ran past the request's statement_timeout.
  if ((e as { code?: unknown })?.code === '57014') return failed(budget.failure('time', 'ran past the time that remained and was cut; nothing was written'));
  const id = randomBytes(4).toString('hex');
  const err = e as { message?: string; code?: string; name?: string };
  // A knex error's message starts with the whole statement: cut here too, for a logger a CMS passed in.
  deps.logger.error({ incident: id, err: { name: err.name, code: err.code, message: truncate(String(err.message)) } }, 'command failed unexpectedly');
  return failed(failure('INTERNAL_ERROR', { incident: id }));
}

const context = (deps: BatchDeps, trx: Knex.Transaction, principal: Principal, budget: RequestBudget): HandlerContext => ({
  trx, principal, keyring: deps.keyring, auth: deps.auth, plugins: deps.plugins, rowBudget: { limit: budget.config.maxRows, left: budget.rowsLeft() },
});

async function runOne(deps: BatchDeps, trx: Knex.Transaction, command: Command, principal: Principal, budget: RequestBudget): Promise<Outcome> {
  return handlerFor(command)(command, context(deps, trx, principal, budget));
}

export async function runBatch(deps: BatchDeps, items: readonly Item[], principal: Principal, atomic: boolean, budget: RequestBudget): Promise<Outcome[]> {
  if (atomic) {
    try {
      return await runAtomic(deps, items, principal, budget);
    } finally {
      if (items.some(writesWebapi)) deps.changed('webapi');
    }
  }
  return runEach(deps, items, principal, budget);
}

/** Other processes hear of a WEBAPI change by a notification; this one must not wait for it. */
const writesWebapi = (i: Item) => isCommand(i) && i.element.table === 'webapi' && !READS.has(i.verb);

/** Verbs that only read: they run without a transaction of their own (never FOR UPDATE). */
const READS: ReadonlySet<string> = new Set(['GET', 'SEARCH', 'COUNT']);

/** The CREATEs of one element type that follow `items[start]`, which is one. */
function createRun(items: readonly Item[], start: number): CreateCommand[] {
  const first = items[start] as CreateCommand;
  const run: CreateCommand[] = [first];
  for (let i = start + 1; i < items.length; i++) {
    const next = items[i]!;
    if (!isCommand(next) || next.verb !== 'CREATE' || next.element !== first.element) break;
    run.push(next);
  }
  return run;
}

async function runEach(deps: BatchDeps, items: readonly Item[], principal: Principal, budget: RequestBudget): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  // Each outcome is accounted (rows, bytes) as it comes: the next command knows what remains.
  const push = (o: Outcome) => void outcomes.push(budget.settle(outcomes.length, o));
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    const spent = budget.stop();
    if (spent) {
      push(failed(spent));
      continue;
    }
    if (!isCommand(item)) {
      push(failed(item));
      continue;
    }
    try {
      if (item.verb === 'CALL') {
        push(await deps.calls.call(principal, item, { deadline: budget.deadline, limitMs: budget.config.timeoutMs }));
        continue;
      }
      if (READS.has(item.verb)) {
        // A read writes nothing to roll back: no BEGIN and COMMIT, two round trips fewer (small GETs are most requests).
        push(await runOne(deps, deps.knex as Knex.Transaction, item, principal, budget));
        continue;
      }
      const run = item.verb === 'CREATE' ? createRun(items, i) : [];
      if (run.length > 1) {
        // Grouped: one transaction and one INSERT for the run, each command still answered on its own.
        const grouped = await retrying(budget, () => transaction(deps, budget, (trx) => createMany(run, context(deps, trx, principal, budget))));
        if (grouped instanceof Conflict) for (let k = 0; k < run.length; k++) push(failed(grouped.failure));
        else for (const o of grouped) push(o);
        i += run.length - 1;
        continue;
      }
      const one = await retrying(budget, () =>
        transaction(deps, budget, async (trx) => {
          const o = await runOne(deps, trx, item, principal, budget);
          if (o.kind === 'failed' && !o.commit) throw new Rollback(o, 0);
          return o;
        }),
      );
      push(one instanceof Conflict ? failed(one.failure) : one);
    } catch (e) {
      // A grouped run that failed unexpectedly answers the same incident for each of its commands.
      const o = e instanceof Rollback ? e.outcome : incident(deps, e, budget);
      const run = item.verb === 'CREATE' ? createRun(items, i) : [item];
      for (let k = 0; k < run.length; k++) push(o);
      i += run.length - 1;
    } finally {
      // After the commit: a request running meanwhile that read the row before it does not keep it either.
      if (writesWebapi(item)) deps.changed('webapi');
    }
  }
  return outcomes;
}

async function runAtomic(deps: BatchDeps, items: readonly Item[], principal: Principal, budget: RequestBudget): Promise<Outcome[]> {
  const refused = items.map((i) => (!isCommand(i) ? i : i.verb === 'CALL' ? failure('CALL_NOT_ATOMIC', {}, i.at) : undefined));
  const invalid = refused.findIndex((f) => f !== undefined);
  if (invalid >= 0) {
    const failedAt = { failed: invalid + 1 };
    return refused.map((f) => (f ? failed(f) : failed(failure('NOT_RUN', failedAt))));
  }
  const commands = items as readonly Command[];
  // Kept outside the transaction: when the connection is lost, knex rejects with its failed ROLLBACK, not with
  // our Rollback, and the command that failed must still be the one named.
  let stopped: Rollback | undefined;
  let reached = 0;
  const restart = budget.mark();
  const rolledBack = (stop: Rollback) => {
    const params = { failed: stop.index + 1 };
    return commands.map((_, i) =>
      i < stop.index ? failed(failure('ROLLED_BACK', params)) : i === stop.index ? stop.outcome : failed(failure('NOT_RUN', params)),
    );
  };
  try {
    const done = await retrying(budget, () => {
      // Each attempt runs the whole batch again from its start, accounted afresh.
      restart();
      stopped = undefined;
      return transaction(deps, budget, async (trx) => {
        const outcomes: Outcome[] = [];
        for (const [index, command] of commands.entries()) {
          reached = index;
          const spent = budget.stop();
          if (spent) throw (stopped = new Rollback(failed(spent), index));
          let o: Outcome;
          try {
            o = await runOne(deps, trx, command, principal, budget);
          } catch (e) {
            if (isConflict(e)) throw e;
            o = incident(deps, e, budget);
          }
          // An answer past the budget stops the batch as a failure would: all or nothing.
          o = budget.settle(index, o);
          if (o.kind === 'failed') throw (stopped = new Rollback(o, index));
          outcomes.push(o);
        }
        return outcomes;
      });
    });
    if (done instanceof Conflict) return commands.map(() => failed(done.failure));
    return done;
  } catch (e) {
    return rolledBack(stopped ?? (e instanceof Rollback ? e : new Rollback(incident(deps, e, budget), reached)));
  }
}

/** SQLSTATEs of a transaction PostgreSQL broke off for another one's sake: running it again may succeed. */
const CONFLICTS: Readonly<Record<string, string>> = { '40P01': 'deadlock', '40001': 'serialization failure' };
const isConflict = (e: unknown): boolean => typeof (e as { code?: unknown })?.code === 'string' && Object.hasOwn(CONFLICTS, (e as { code: string }).code);

/** A transaction that kept conflicting: its commands answer TRANSACTION_CONFLICT, which the client may send again. */
class Conflict {
  constructor(readonly failure: Failure) {}
}

/** Most runs of a transaction that conflicts (deadlock, serialization failure). */
export const MAX_TRANSACTION_ATTEMPTS = 5;

/**
 * Runs `attempt` again when PostgreSQL broke its transaction off for a deadlock or a serialization failure:
 * at most MAX_TRANSACTION_ATTEMPTS times, after a jittered, doubling wait (so two batches that deadlocked do not
 * meet again in step), and never past the request's time. Then a Conflict; any other error is thrown.
 */
async function retrying<T>(budget: RequestBudget, attempt: () => Promise<T>): Promise<T | Conflict> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (e) {
      if (!isConflict(e)) throw e;
      const wait = Math.random() * 10 * 2 ** n;
      if (n >= MAX_TRANSACTION_ATTEMPTS || budget.remainingMs() <= wait) {
        return new Conflict(failure('TRANSACTION_CONFLICT', { reason: CONFLICTS[(e as { code: string }).code]!, attempts: n }));
      }
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

/**
 * A transaction whose statements may not run past the request's time: on PostgreSQL, statement_timeout is set to
 * what remains when it begins (a statement cut so answers BUDGET_TIME). PGlite runs one statement at a time in
 * this process, and has no timer to cut one.
 */
function transaction<T>(deps: BatchDeps, budget: RequestBudget, body: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  return deps.knex.transaction(async (trx) => {
    if (deps.statementTimeouts) await trx.raw(`SET LOCAL statement_timeout = ${Math.max(1, Math.ceil(budget.remainingMs()))}`);
    return body(trx);
  });
}
