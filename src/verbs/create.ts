/**
 * @module verbs/create
 * CREATE: one new element, owned by the caller unless it names another owner.
 */
import type { CreateCommand } from '../commands.js';
import { failure, type Failure } from '../errors.js';
import type { FieldValue } from '../field-types.js';
import { failed, type Outcome } from '../outcome.js';
import { insertElement, insertElements } from '../store/elements.js';
import { ownershipProblem, type Handler, type HandlerContext } from './context.js';
import { checkValues, isUniqueViolation } from './references.js';
import { checkPluginFields } from './webapi-plugin.js';

/** What CREATE checks and adds before it writes; `memo` shares reference lookups across a group. */
async function prepare(cmd: CreateCommand, ctx: HandlerContext, memo?: Map<string, boolean>): Promise<Map<string, FieldValue> | Failure> {
  const { element } = cmd;
  const me = ctx.principal.contactId;
  if (element.adminWrite && !ctx.principal.admin) return failure('ADMIN_ONLY', { action: 'create', element: element.name });
  const problem = ownershipProblem(ctx, element, cmd.values) ?? (element.name === 'WEBAPI' ? checkPluginFields(ctx, cmd.values) : undefined) ?? (await checkValues(ctx, element, cmd.values, [], memo));
  if (problem) return problem;
  const now = new Date();
  const values = new Map<string, FieldValue>(cmd.values);
  values.set('CREATORID', me);
  values.set('MODIFIERID', me);
  if (!values.has('OWNERID') || values.get('OWNERID') === null) values.set('OWNERID', me);
  values.set('CREATIONDATE', now);
  values.set('MODIFICATIONDATE', now);
  return values;
}

const created = (cmd: CreateCommand, id: number): Outcome => ({ kind: 'done', code: 'CREATED', params: { element: cmd.element.name, id }, elementID: String(id), hits: 1 });

function duplicate(cmd: CreateCommand): Outcome {
  const field = Object.entries(cmd.element.fields).find(([, d]) => d.unique)?.[0] ?? 'a unique field';
  return failed(failure('DUPLICATE_VALUE', { element: cmd.element.name, field, value: String(cmd.values.get(field) ?? '') }));
}

export const create: Handler<CreateCommand> = async (cmd, ctx) => {
  const values = await prepare(cmd, ctx);
  if (!(values instanceof Map)) return failed(values);
  try {
    return created(cmd, await insertElement(ctx.trx, cmd.element, values, ctx.keyring));
  } catch (e) {
    if (!isUniqueViolation(e)) throw e;
    return duplicate(cmd);
  }
};

/**
 * Consecutive CREATEs of one element type, in one transaction: each is checked on its own (a failing one
 * answers its MESSAGE and writes nothing), the rest go in one multi-row INSERT. If that INSERT fails (two
 * commands of the group, or a concurrent writer, taking one unique value), each command is written again in a
 * savepoint of its own, so every command still succeeds or fails alone. Outcomes are in command order.
 */
export async function createMany(cmds: readonly CreateCommand[], ctx: HandlerContext): Promise<Outcome[]> {
  const memo = new Map<string, boolean>();
  const outcomes: Outcome[] = new Array(cmds.length);
  const ready: { i: number; values: Map<string, FieldValue> }[] = [];
  for (const [i, cmd] of cmds.entries()) {
    const values = await prepare(cmd, ctx, memo);
    if (values instanceof Map) ready.push({ i, values });
    else outcomes[i] = failed(values);
  }
  if (!ready.length) return outcomes;
  const element = cmds[0]!.element;
  try {
    const ids = await ctx.trx.transaction((sp) => insertElements(sp, element, ready.map((r) => r.values), ctx.keyring));
    ready.forEach((r, k) => (outcomes[r.i] = created(cmds[r.i]!, ids[k]!)));
  } catch (e) {
    if (!isUniqueViolation(e)) throw e;
    for (const r of ready) {
      try {
        outcomes[r.i] = created(cmds[r.i]!, await ctx.trx.transaction((sp) => insertElement(sp, element, r.values, ctx.keyring)));
      } catch (e2) {
        if (!isUniqueViolation(e2)) throw e2;
        outcomes[r.i] = duplicate(cmds[r.i]!);
      }
    }
  }
  return outcomes;
}
