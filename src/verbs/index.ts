/**
 * @module verbs
 * The handler of each verb that runs in a transaction. CALL runs outside one (call/service).
 */
import type { Command, Verb } from '../commands.js';
import type { Handler } from './context.js';
import { authorize } from './authorize.js';
import { create } from './create.js';
import { count, get, search } from './read.js';
import { remove } from './remove.js';
import { update } from './update.js';

export const HANDLERS: ReadonlyMap<Verb, Handler> = new Map<Verb, Handler>([
  ['CREATE', create as Handler],
  ['GET', get as Handler],
  ['SEARCH', search as Handler],
  ['COUNT', count as Handler],
  ['UPDATE', update as Handler],
  ['DELETE', remove as Handler],
  ['KILL', remove as Handler],
  ['AUTHORIZE', authorize as Handler],
]);

export function handlerFor(command: Command): Handler {
  const h = HANDLERS.get(command.verb);
  if (!h) throw new Error(`no handler for ${command.verb}`);
  return h;
}

export type { Handler, HandlerContext } from './context.js';
