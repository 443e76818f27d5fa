/**
 * @module outcome
 * What a command produced, as data: elements, a success message, or a failure. The batch runner collects
 * one Answer per command and the response builder writes them out.
 */
import type { ElementDef } from '../schemas/types.js';
import type { Verb } from './commands.js';
import type { Failure } from './errors.js';
import type { Security } from './principal.js';
import type { Scrubbed } from './scrub.js';
import type { TransitionRecord } from './auth/transitions.js';
import type { ResultValue } from './sdk/types.js';
import type { Row } from './store/elements.js';

/**
 * Extra attributes of a MESSAGE or a CALL result: the service's status, error and message, support ids, a URL.
 * Scrubbed, since most of them are a provider's text and the caller may not be the account's owner.
 */
export type Attributes = Readonly<Record<string, Scrubbed>>;

export interface Results {
  readonly kind: 'results';
  readonly element: ElementDef;
  readonly rows: readonly Row[];
  /** Fields to write; undefined: every readable field; empty: none, not even INFO (RETURN NOTHING). */
  readonly fields: readonly string[] | undefined;
  /** What the caller may do with each row, in the rows' order. */
  readonly security: readonly Security[];
  readonly hits: number;
  readonly page?: number;
  readonly pages?: number;
  /** A SEARCH's page or slice: whether no match comes after it. */
  readonly lastPage?: boolean;
  /** State transitions per account ID, when RETURN asked for HISTORY. */
  readonly history?: ReadonlyMap<number, readonly TransitionRecord[]>;
}

export interface Done {
  readonly kind: 'done';
  readonly code: 'CREATED' | 'UPDATED' | 'DELETED' | 'KILLED' | 'NONE_MATCHED' | 'AUTHORIZATION_STARTED' | 'AUTHORIZED';
  readonly params: Failure['params'];
  readonly elementID: string;
  /** How many elements the command wrote (CREATE, UPDATE, DELETE, KILL). */
  readonly hits?: number;
  /** Rows a WHERE read to find them: they count against the request's rows budget. */
  readonly read?: number;
  /** Extra attributes of the MESSAGE, e.g. the URL AUTHORIZE sends the browser to. */
  readonly attributes?: Attributes;
}

export interface Failed {
  readonly kind: 'failed';
  readonly failure: Failure;
  readonly elementID?: string | undefined;
  /** Extra attributes of the MESSAGE: the service's status and error, support ids. */
  readonly attributes?: Attributes | undefined;
  /** What the command wrote stays (e.g. the transition that records why a key was refused). */
  readonly commit?: boolean;
}

/** One account's part of a CALL: the method's result, or why it failed. */
export interface CallAnswer {
  readonly accountId: number;
  readonly method: string;
  readonly result: { readonly value: ResultValue } | { readonly failure: Failure };
  /** Attributes of the result or of its MESSAGE (support ids, the service's status). */
  readonly attributes: Attributes;
  readonly warnings: readonly { readonly code: Scrubbed; readonly message: Scrubbed }[];
}

export interface Called {
  readonly kind: 'called';
  readonly answers: readonly CallAnswer[];
}

export type Outcome = Results | Done | Failed | Called;

/** One command's answer, in document order. */
export interface Answer {
  readonly verb: Verb | undefined;
  readonly name: string | undefined;
  readonly outcome: Outcome;
}

export const failed = (failure: Failure, elementID?: string, attributes?: Attributes): Failed => ({ kind: 'failed', failure, elementID, attributes });
