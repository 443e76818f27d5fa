/**
 * @module verbs/create
 * CREATE: one new element, owned by the caller unless it names another owner.
 */
import type { CreateCommand } from '../commands.js';
import { failure } from '../errors.js';
import type { FieldValue } from '../field-types.js';
import { failed } from '../outcome.js';
import { insertElement } from '../store/elements.js';
import type { Handler } from './context.js';
import { checkValues, isUniqueViolation } from './references.js';
import { checkPluginFields } from './webapi-plugin.js';

export const create: Handler<CreateCommand> = async (cmd, ctx) => {
  const { element } = cmd;
  const me = ctx.principal.contactId;
  if (element.adminWrite && !ctx.principal.admin) return failed(failure('ADMIN_ONLY', { action: 'create', element: element.name }));
  const problem = (element.name === 'WEBAPI' ? checkPluginFields(ctx, cmd.values) : undefined) ?? (await checkValues(ctx, element, cmd.values));
  if (problem) return failed(problem);

  const now = new Date();
  const values = new Map<string, FieldValue>(cmd.values);
  values.set('CREATORID', me);
  values.set('MODIFIERID', me);
  if (!values.has('OWNERID') || values.get('OWNERID') === null) values.set('OWNERID', me);
  values.set('CREATIONDATE', now);
  values.set('MODIFICATIONDATE', now);
  try {
    const id = await insertElement(ctx.trx, element, values, ctx.keyring);
    return { kind: 'done', code: 'CREATED', params: { element: element.name, id }, elementID: String(id) };
  } catch (e) {
    if (!isUniqueViolation(e)) throw e;
    const field = Object.entries(element.fields).find(([, d]) => d.unique)?.[0] ?? 'a unique field';
    return failed(failure('DUPLICATE_VALUE', { element: element.name, field, value: String(cmd.values.get(field) ?? '') }));
  }
};
