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
}

/** A validated command, or why it is invalid. */
export type Item = Command | Failure;

const isCommand = (i: Item): i is Command => 'verb' in i;

/** Carries a failed outcome out of knex.transaction so that it rolls back. */
class Rollback {
  constructor(readonly outcome: Outcome, readonly index: number) {}
}

/** Unexpected errors: logged with an incident id (message and code only: a driver's detail may quote values). */
function incident(deps: BatchDeps, e: unknown): Outcome {
  if (e instanceof NoriError) return failed(e.failure);
  const id = randomBytes(4).toString('hex');
  const err = e as { message?: string; code?: string; name?: string };
  // A knex error's message starts with the whole statement: cut here too, for a logger a CMS passed in.
  deps.logger.error({ incident: id, err: { name: err.name, code: err.code, message: truncate(String(err.message)) } }, 'command failed unexpectedly');
  return failed(failure('INTERNAL_ERROR', { incident: id }));
}

const context = (deps: BatchDeps, trx: Knex.Transaction, principal: Principal): HandlerContext => ({ trx, principal, keyring: deps.keyring, auth: deps.auth, plugins: deps.plugins });

async function runOne(deps: BatchDeps, trx: Knex.Transaction, command: Command, principal: Principal): Promise<Outcome> {
  return handlerFor(command)(command, context(deps, trx, principal));
}

export async function runBatch(deps: BatchDeps, items: readonly Item[], principal: Principal, atomic: boolean): Promise<Outcome[]> {
  if (atomic) {
    try {
      return await runAtomic(deps, items, principal);
    } finally {
      if (items.some(writesWebapi)) deps.changed('webapi');
    }
  }
  return runEach(deps, items, principal);
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

async function runEach(deps: BatchDeps, items: readonly Item[], principal: Principal): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    if (!isCommand(item)) {
      outcomes.push(failed(item));
      continue;
    }
    try {
      if (item.verb === 'CALL') {
        outcomes.push(await deps.calls.call(principal, item));
        continue;
      }
      if (READS.has(item.verb)) {
        // A read writes nothing to roll back: no BEGIN and COMMIT, two round trips fewer (small GETs are most requests).
        outcomes.push(await runOne(deps, deps.knex as Knex.Transaction, item, principal));
        continue;
      }
      const run = item.verb === 'CREATE' ? createRun(items, i) : [];
      if (run.length > 1) {
        // Grouped: one transaction and one INSERT for the run, each command still answered on its own.
        outcomes.push(...(await deps.knex.transaction((trx) => createMany(run, context(deps, trx, principal)))));
        i += run.length - 1;
        continue;
      }
      outcomes.push(
        await deps.knex.transaction(async (trx) => {
          const o = await runOne(deps, trx, item, principal);
          if (o.kind === 'failed' && !o.commit) throw new Rollback(o, 0);
          return o;
        }),
      );
    } catch (e) {
      // A grouped run that failed unexpectedly answers the same incident for each of its commands.
      const o = e instanceof Rollback ? e.outcome : incident(deps, e);
      const run = item.verb === 'CREATE' ? createRun(items, i) : [item];
      for (let k = 0; k < run.length; k++) outcomes.push(o);
      i += run.length - 1;
    } finally {
      // After the commit: a request running meanwhile that read the row before it does not keep it either.
      if (writesWebapi(item)) deps.changed('webapi');
    }
  }
  return outcomes;
}

async function runAtomic(deps: BatchDeps, items: readonly Item[], principal: Principal): Promise<Outcome[]> {
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
  try {
    return await deps.knex.transaction(async (trx) => {
      const outcomes: Outcome[] = [];
      for (const [index, command] of commands.entries()) {
        reached = index;
        let o: Outcome;
        try {
          o = await runOne(deps, trx, command, principal);
        } catch (e) {
          o = incident(deps, e);
        }
        if (o.kind === 'failed') throw (stopped = new Rollback(o, index));
        outcomes.push(o);
      }
      return outcomes;
    });
  } catch (e) {
    const stop = stopped ?? (e instanceof Rollback ? e : new Rollback(incident(deps, e), reached));
    const params = { failed: stop.index + 1 };
    return commands.map((_, i) =>
      i < stop.index ? failed(failure('ROLLED_BACK', params)) : i === stop.index ? stop.outcome : failed(failure('NOT_RUN', params)),
    );
  }
}
