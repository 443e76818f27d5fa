/**
 * @module commands
 * The typed commands the validator hands to the handlers. Nothing past validation sees XML.
 */
import type { ElementDef } from '../schemas/types.js';
import type { FieldValue } from './field-types.js';
import type { AuthEvent } from './auth/state-machine.js';
import type { Blocks, Sort } from './store/elements.js';
import type { XmlNode } from './xml/parse.js';

export const VERBS = ['CREATE', 'GET', 'SEARCH', 'COUNT', 'UPDATE', 'DELETE', 'KILL', 'AUTHORIZE', 'CALL'] as const;
export type Verb = (typeof VERBS)[number];

export interface Position {
  readonly line: number;
  readonly column: number;
}

interface Base {
  /** The command's `name` attribute, echoed on its result. */
  readonly name: string | undefined;
  readonly element: ElementDef;
  readonly at: Position;
}

export interface CreateCommand extends Base {
  readonly verb: 'CREATE';
  readonly values: ReadonlyMap<string, FieldValue>;
}

/**
 * What an UPDATE, DELETE or KILL writes: the elements of an ID list, or those its WHERE matches among the ones
 * the caller may read (at most `limit`, or the command fails and writes nothing).
 */
export type Target = { readonly kind: 'ids'; readonly ids: readonly number[] } | { readonly kind: 'where'; readonly blocks: Blocks; readonly limit: number };

/** Which matches a SEARCH returns: a page of PAGINATE, or the positions start to end (from 1, both in) of a SLICE. */
export type Range = { readonly kind: 'page'; readonly display: number; readonly page: number } | { readonly kind: 'slice'; readonly start: number; readonly end: number };

export interface GetCommand extends Base {
  readonly verb: 'GET';
  readonly ids: readonly number[];
  /** Fields to return; undefined returns every readable field, an empty list none (RETURN NOTHING: IDs only). */
  readonly fields: readonly string[] | undefined;
  /** RETURN asked for each account's state transitions. */
  readonly history: boolean;
}

export interface SearchCommand extends Base {
  readonly verb: 'SEARCH';
  readonly blocks: Blocks;
  readonly sort: readonly Sort[];
  readonly range: Range;
  readonly fields: readonly string[] | undefined;
  readonly history: boolean;
}

export interface CountCommand extends Base {
  readonly verb: 'COUNT';
  readonly blocks: Blocks;
}

export interface UpdateCommand extends Base {
  readonly verb: 'UPDATE';
  readonly target: Target;
  readonly values: ReadonlyMap<string, FieldValue>;
  /** MODIFICATIONDATE sent with the update: the element must not have changed since. */
  readonly unmodifiedSince: { readonly date: Date; readonly toSecond: boolean } | undefined;
  /** AUTHORIZATION_STATE asked for (disabled, authorized, revoked): the event that moves the account. */
  readonly stateEvent: AuthEvent | undefined;
}

export interface RemoveCommand extends Base {
  readonly verb: 'DELETE' | 'KILL';
  readonly target: Target;
}

export interface AuthorizeCommand extends Base {
  readonly verb: 'AUTHORIZE';
  readonly ids: readonly number[];
  /** Where the browser goes when the flow ends; must be on the allowlist. */
  readonly returnUrl: string | undefined;
}

/** CALL: one method of the accounts' plugin; its parameters are checked against the plugin's definition. */
export interface CallCommand extends Base {
  readonly verb: 'CALL';
  readonly ids: readonly number[];
  /** The method's element name, e.g. POSTMESSAGE. */
  readonly method: string;
  /** The method's element, whose children are the parameters. */
  readonly node: XmlNode;
  readonly methodAt: Position;
  /** Where the browser goes after a consent page the service may ask for; must be on the allowlist. */
  readonly returnUrl: string | undefined;
  readonly replay?: undefined;
}

/** `<CALL><WEBACCOUNT ID="2" replay="…"/></CALL>`: the result of a CALL kept across a consent page, collected once. */
export interface ReplayCommand extends Base {
  readonly verb: 'CALL';
  readonly ids: readonly number[];
  readonly replay: string;
}

export type Command = CreateCommand | GetCommand | SearchCommand | CountCommand | UpdateCommand | RemoveCommand | AuthorizeCommand | CallCommand | ReplayCommand;
export type CommandOf<V extends Verb> = Extract<Command, { verb: V }>;
