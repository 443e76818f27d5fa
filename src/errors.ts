/**
 * @module errors
 * The one table of nori's message codes: each code has its msgType, the HTTP status it maps to when it
 * refuses a whole request, and a message template. Codes are stable and never reused; docs/errors.md is
 * generated from this table and a test keeps the two in step.
 */
import type { Scrubbed } from './scrub.js';

/** 0 = success, 1 = error, 2 = the user must act first (a consent page), 3 = security (permission) error. */
export type MsgType = 0 | 1 | 2 | 3;

export interface MessageSpec {
  readonly msgType: MsgType;
  /** HTTP status when this code refuses the whole request (batch-level codes); commands inside a batch answer 200. */
  readonly status: number;
  /** Human sentence; `{name}` placeholders are filled from the failure's params. */
  readonly message: string;
}

export const MESSAGES = {
  // Success messages of commands that return no elements.
  CREATED: { msgType: 0, status: 200, message: '{element} {id} was created.' },
  UPDATED: { msgType: 0, status: 200, message: '{element} {id} was updated.' },
  DELETED: { msgType: 0, status: 200, message: '{element} {id} was deleted (ACTIVITY=0); UPDATE ACTIVITY to 1 to restore it.' },
  KILLED: { msgType: 0, status: 200, message: '{element} {id} was removed permanently.' },
  NONE_MATCHED: { msgType: 0, status: 200, message: 'No {element} matched the WHERE: none was {done}.' },
  AUTHORIZATION_STARTED: { msgType: 0, status: 200, message: 'Send the user\'s browser to the url attribute to authorize WEBACCOUNT {id} on {api}; the link expires in {minutes} minutes.' },
  AUTHORIZED: { msgType: 0, status: 200, message: 'WEBACCOUNT {id} is authorized on {api}.' },

  // The request as a whole: refused before any command runs.
  XML_MALFORMED: { msgType: 1, status: 400, message: 'The request is not well-formed XML: {reason}.' },
  XML_FORBIDDEN_DECLARATION: { msgType: 1, status: 400, message: 'The request contains a {what}; DOCTYPE and entity declarations are refused.' },
  XML_ENCODING: { msgType: 1, status: 400, message: 'The request is not valid UTF-8{detail}.' },
  XML_ROOT: { msgType: 1, status: 400, message: 'The root element must be <QUERY>, not <{name}>.' },
  LIMIT_BODY_SIZE: { msgType: 1, status: 413, message: 'The request body is larger than the limit of {limit} bytes.' },
  LIMIT_DEPTH: { msgType: 1, status: 400, message: 'Elements are nested deeper than the limit of {limit}.' },
  LIMIT_ELEMENTS: { msgType: 1, status: 400, message: 'The request has more than the limit of {limit} elements.' },
  LIMIT_ATTRIBUTES: { msgType: 1, status: 400, message: '<{name}> has more than the limit of {limit} attributes.' },
  LIMIT_ATTRIBUTE_LENGTH: { msgType: 1, status: 400, message: 'Attribute {name} is longer than the limit of {limit} characters.' },
  LIMIT_TEXT_LENGTH: { msgType: 1, status: 400, message: 'A text value is longer than the limit of {limit} characters.' },
  LIMIT_CRITERIA: { msgType: 1, status: 400, message: 'The command has more than the limit of {limit} criteria (fields in its INFO blocks); an IN list counts as one, a contains one per word.' },
  LIMIT_COMMANDS: { msgType: 1, status: 400, message: 'The request has more than the limit of {limit} commands.' },
  QUERY_ATTRIBUTE: { msgType: 1, status: 400, message: '<QUERY> has an unknown or invalid attribute {name}; it accepts atomic="true|false".' },
  UNSUPPORTED_MEDIA_TYPE: { msgType: 1, status: 415, message: 'Send the batch as application/xml, text/xml, or as the form field NQL.' },
  AUTH_REQUIRED: { msgType: 3, status: 401, message: 'An API key is required: send Authorization: Bearer <key>.' },
  AUTH_INVALID: { msgType: 3, status: 401, message: 'The API key is unknown or revoked.' },
  ROUTE_NOT_FOUND: { msgType: 1, status: 404, message: 'There is nothing at {method} {path}.' },
  SERVICE_UNAVAILABLE: { msgType: 1, status: 503, message: 'The database is not reachable; try again later.' },
  SHUTTING_DOWN: { msgType: 1, status: 503, message: 'nori is shutting down and did not run this request; send it again.' },
  // Below the request: what node's HTTP parser and timers refuse. The connection is closed after the answer.
  HTTP_MALFORMED: { msgType: 1, status: 400, message: 'The request is not well-formed HTTP ({reason}); nori closes the connection.' },
  LIMIT_HEADER_SIZE: { msgType: 1, status: 431, message: 'The request line and headers are larger than the limit of {limit} bytes; nori closes the connection.' },
  REQUEST_TIMEOUT: { msgType: 1, status: 408, message: 'The request did not arrive in full in the time allowed; nori closes the connection.' },

  // One command: validation.
  UNKNOWN_VERB: { msgType: 1, status: 400, message: '<{name}> is not a command; use CREATE, GET, SEARCH, COUNT, UPDATE, DELETE, KILL, AUTHORIZE or CALL.' },
  UNKNOWN_ELEMENT: { msgType: 1, status: 400, message: '<{name}> is not an element type; use WEBAPI or WEBACCOUNT.' },
  UNKNOWN_FIELD: { msgType: 1, status: 400, message: '{element} has no field {name}.' },
  UNKNOWN_ATTRIBUTE: { msgType: 1, status: 400, message: '<{tag}> has no attribute {name}.' },
  UNKNOWN_OPERATOR: { msgType: 1, status: 400, message: '{operator} is not an operator; use {allowed}.' },
  UNEXPECTED_ELEMENT: { msgType: 1, status: 400, message: '<{name}> is not allowed inside <{parent}>; expected {expected}.' },
  UNEXPECTED_TEXT: { msgType: 1, status: 400, message: '<{parent}> holds text "{text}"; values go inside field elements.' },
  SECRET_FIELD: { msgType: 1, status: 400, message: '{field} is secret: it is never returned, sorted or searched on.' },
  NOT_SEARCHABLE: { msgType: 1, status: 400, message: '{field} holds several values: it cannot be searched or sorted on.' },
  MISSING_ELEMENT: { msgType: 1, status: 400, message: '<{parent}> must contain {expected}.' },
  INVALID_VALUE: { msgType: 1, status: 400, message: '{field} must be {expected}{got}.' },
  VALUE_TOO_LONG: { msgType: 1, status: 400, message: '{field} is longer than {limit} characters.' },
  MISSING_FIELD: { msgType: 1, status: 400, message: '{element} needs {field}.' },
  DUPLICATE_FIELD: { msgType: 1, status: 400, message: '{field} is given twice in one <INFO>.' },
  READONLY_FIELD: { msgType: 1, status: 400, message: '{field} is set by nori and cannot be written.' },
  MISSING_ID: { msgType: 1, status: 400, message: '{verb} needs the ID attribute on <{element}>{or}.' },
  INVALID_ID: { msgType: 1, status: 400, message: 'ID must be a positive integer or a comma-separated list of them{got}.' },

  // One command: against stored data.
  NOT_FOUND: { msgType: 1, status: 404, message: 'There is no {element} {id}.' },
  LIMIT_WHERE: { msgType: 1, status: 413, message: 'The WHERE matches more than the limit of {limit} {element} elements a command may write; nothing was written: narrow its criteria, or send several commands.' },
  NOT_VISIBLE: { msgType: 3, status: 403, message: 'You have no access to {element} {id}.' },
  FORBIDDEN: { msgType: 3, status: 403, message: 'You may read {element} {id} but not {action} it.' },
  OWNER_FORBIDDEN: { msgType: 3, status: 403, message: 'Only an administrator may make contact {value} the OWNERID of a {element}; leave OWNERID out (or set it to your own contact {me}).' },
  GROUP_FORBIDDEN: { msgType: 3, status: 403, message: 'GROUPID {value} is not one of your groups ({groups}); only an administrator may give a {element} to another group.' },
  ADMIN_ONLY: { msgType: 3, status: 403, message: 'Only an administrator may {action} a {element}.' },
  LOCKED: { msgType: 1, status: 409, message: '{element} {id} is locked (ISLOCKED=1); unlock it before you {action} it.' },
  MODIFIED_SINCE: { msgType: 1, status: 409, message: '{element} {id} was modified at {stored}, after the MODIFICATIONDATE {given} you sent; read it again.' },
  REFERENCE_NOT_FOUND: { msgType: 1, status: 400, message: '{field} names no active {target} "{value}".' },
  DUPLICATE_VALUE: { msgType: 1, status: 409, message: 'Another {element} already has {field} "{value}".' },
  STILL_REFERENCED: { msgType: 1, status: 409, message: '{element} {id} is still used by {count} {by}; remove them first.' },
  STATE_READONLY: { msgType: 1, status: 400, message: 'AUTHORIZATION_STATE can only be set to disabled, authorized (from disabled) or revoked, alone in its UPDATE; use AUTHORIZE to authorize.' },
  ILLEGAL_TRANSITION: { msgType: 1, status: 409, message: 'WEBACCOUNT {id} is {from} and cannot become {to}; that needs {allowed}.' },
  SECRET_UNREADABLE: { msgType: 1, status: 500, message: 'A stored secret of {element} {id} cannot be decrypted with the configured keys (key {keyId}); check NORI_SECRET_KEY.' },

  // Authorization.
  RETURN_URL_NOT_ALLOWED: { msgType: 3, status: 400, message: 'The return URL is not on the allowlist of this nori (NORI_RETURN_URLS).' },
  WEBAPI_INACTIVE: { msgType: 1, status: 409, message: 'The WEBAPI "{api}" is deleted or disabled; nothing can be authorized on it.' },
  WEBAPI_INCOMPLETE: { msgType: 1, status: 409, message: 'The WEBAPI "{api}" lacks {fields}; an administrator must set them before accounts can be authorized.' },
  PROVIDER_ERROR: { msgType: 1, status: 502, message: 'The service "{api}" failed at {step} (HTTP status {status}): {error}.' },
  ACCOUNT_DELETED: { msgType: 1, status: 410, message: 'WEBACCOUNT {id} is deleted (ACTIVITY=0); UPDATE its ACTIVITY to 1 to restore it before you {action} it.' },
  API_NOT_MOVABLE: { msgType: 1, status: 409, message: 'WEBACCOUNT {id} is {state} on "{api}": its API cannot change while it holds tokens or an authorization in progress; revoke it first, or create a new account.' },
  NOT_AUTHORIZED: { msgType: 1, status: 409, message: 'WEBACCOUNT {id} is {state}, not authorized; AUTHORIZE it first.' },
  REFRESH_REJECTED: { msgType: 1, status: 409, message: 'The service refused to refresh the tokens of WEBACCOUNT {id} ({reason}); it is waiting again: AUTHORIZE it.' },
  CALLBACK_INVALID: { msgType: 3, status: 400, message: 'This callback does not belong to an authorization nori started.' },
  CALLBACK_REPLAYED: { msgType: 3, status: 409, message: 'This authorization was already finished, or superseded by a newer one.' },
  CALLBACK_UNBOUND: { msgType: 3, status: 403, message: 'This callback did not come from the browser that started the authorization: open the authorization link in this browser to authorize here.' },
  START_INVALID: { msgType: 3, status: 400, message: 'This authorization link is not one nori gave: ask for a new one.' },
  START_USED: { msgType: 3, status: 409, message: 'This authorization link was already followed, or its authorization has ended: it works once, in one browser; ask for a new one.' },
  FLOW_EXPIRED: { msgType: 1, status: 410, message: 'The authorization took too long; ask for a new one.' },
  ACCESS_DENIED: { msgType: 1, status: 403, message: 'The authorization was refused at the service.' },
  SCOPE_REFUSED: { msgType: 1, status: 403, message: 'The service "{api}" refused the scopes nori asked for ({scopes}): {why}; an administrator must set the WEBAPI\'s SCOPES to scopes the service grants this client, then AUTHORIZE again.' },
  CLIENT_REFUSED: { msgType: 1, status: 403, message: 'The service "{api}" refused the authorization request nori sent ({error}); an administrator must check the WEBAPI\'s CLIENT_ID and AUTHORIZE_URL, and that nori\'s callback URL is registered with the service.' },

  // CALL.
  CALL_NOT_ATOMIC: { msgType: 1, status: 400, message: 'CALL cannot run in an atomic batch: what a service did cannot be rolled back.' },
  PLUGIN_MISSING: { msgType: 1, status: 501, message: 'The WEBAPI "{api}" has no plugin{named}, so nothing can be CALLed on it.' },
  PLUGIN_UNKNOWN: { msgType: 1, status: 400, message: 'PLUGIN "{plugin}" is not a loaded plugin; loaded: {plugins}.' },
  SETTING_UNKNOWN: { msgType: 1, status: 400, message: 'SETTINGS has {setting}, which the plugin "{plugin}" does not declare; it declares {settings}.' },
  METHOD_UNKNOWN: { msgType: 1, status: 400, message: '"{api}" has no method <{method}>; its methods are {methods}.' },
  PARAM_UNKNOWN: { msgType: 1, status: 400, message: '<{method}> has no parameter <{param}>; it takes {params}.' },
  PARAM_MISSING: { msgType: 1, status: 400, message: '<{method}> needs <{param}>.' },
  PARAM_INVALID: { msgType: 1, status: 400, message: '<{method}> <{param}> must be {expected}{got}.' },
  ACCOUNT_DISABLED: { msgType: 1, status: 409, message: 'WEBACCOUNT {id} is disabled; UPDATE its AUTHORIZATION_STATE to authorized to use it again.' },
  ACCOUNT_REVOKED: { msgType: 1, status: 410, message: 'WEBACCOUNT {id} is revoked and its tokens erased; create and AUTHORIZE a new account.' },
  SERVICE_ERROR: { msgType: 1, status: 502, message: 'The service "{api}" refused {method} (HTTP {status}): {error}{detail}.' },
  SERVICE_UNAUTHORIZED: { msgType: 1, status: 409, message: 'The service "{api}" refused the credentials of WEBACCOUNT {id} (HTTP {status}){after}; it is waiting again: AUTHORIZE it.' },
  SERVICE_RATE_LIMITED: { msgType: 1, status: 429, message: 'The service "{api}" is rate limiting {method}{retry}; nothing more was sent.' },
  SERVICE_FAILED: { msgType: 1, status: 503, message: 'The service "{api}" failed {method} with HTTP {status} after {attempts} attempt(s).' },
  SERVICE_TIMEOUT: { msgType: 1, status: 504, message: 'The service "{api}" did not answer {method} in time ({ms} ms per attempt, {attempts} attempt(s)).' },
  SERVICE_UNREACHABLE: { msgType: 1, status: 502, message: 'The service "{api}" could not be reached for {method} ({reason}) after {attempts} attempt(s).' },
  TARGET_BLOCKED: { msgType: 3, status: 403, message: 'The service "{api}" is at {reason}, which this nori refuses to reach (NORI_BLOCK_PRIVATE_TARGETS).' },
  SERVICE_BAD_RESPONSE: { msgType: 1, status: 502, message: 'The service "{api}" answered {method} with something nori cannot read ({reason}).' },
  CONSENT_REQUIRED: { msgType: 2, status: 403, message: 'The service "{api}" needs the user\'s consent before {method} on WEBACCOUNT {id}: send the browser to the url attribute; once it is back, collect the result with replay="{call}" (within {minutes} minutes).' },
  CONSENT_REFUSED: { msgType: 1, status: 403, message: 'The user did not let "{api}" answer {method}; WEBACCOUNT {id} is waiting: AUTHORIZE it again to ask anew.' },
  REPLAY_UNKNOWN: { msgType: 3, status: 404, message: 'WEBACCOUNT {id} has no kept CALL of yours with this id.' },
  REPLAY_PENDING: { msgType: 1, status: 409, message: 'The user has not come back from the consent page yet; collect the result after the redirect to your return URL.' },
  REPLAY_USED: { msgType: 1, status: 410, message: 'This kept CALL was already collected; send the CALL again.' },
  REPLAY_EXPIRED: { msgType: 1, status: 410, message: 'This kept CALL expired before it was collected; send the CALL again.' },
  KEY_MISSING: { msgType: 1, status: 409, message: 'WEBACCOUNT {id} has no TOKEN: set the service\'s key with UPDATE before you AUTHORIZE it.' },
  KEY_REJECTED: { msgType: 1, status: 409, message: 'The service "{api}" refused the key of WEBACCOUNT {id} ({reason}); it is waiting.' },

  // Batch semantics.
  ROLLED_BACK: { msgType: 1, status: 409, message: 'This command succeeded but was rolled back because command {failed} of the atomic batch failed.' },
  NOT_RUN: { msgType: 1, status: 409, message: 'This command did not run because command {failed} of the atomic batch failed.' },
  BUDGET_RESPONSE_BYTES: { msgType: 1, status: 413, message: 'The answers reached the RESPONSE budget of {limit} bytes (NORI_MAX_RESPONSE_BYTES): this command {what}; send it again in a smaller batch or with a smaller PAGINATE.' },
  BUDGET_ROWS: { msgType: 1, status: 413, message: 'The request read its budget of {limit} rows (NORI_MAX_REQUEST_ROWS): this command {what}; send it again in another request or with a smaller PAGINATE.' },
  BUDGET_TIME: { msgType: 1, status: 504, message: 'The request used its time budget of {limit} ms (NORI_REQUEST_TIMEOUT_MS): this command {what}; send it again in another request.' },
  TRANSACTION_CONFLICT: { msgType: 1, status: 409, message: 'The transaction conflicted with another one running at the same time ({reason}) in {attempts} attempt(s) and nothing was written; the client may send it again.' },
  INTERNAL_ERROR: { msgType: 1, status: 500, message: 'nori could not complete this command (incident {incident}); nothing was written.' },
} as const satisfies Record<string, MessageSpec>;

export type MessageCode = keyof typeof MESSAGES;
export type Params = Readonly<Record<string, string | number>>;

/**
 * The parameters of a code that carry a provider's own text (its error code, its message, a plugin's reason):
 * they must have gone through a scrubber (src/scrub.ts), so a secret the provider echoed never reaches the
 * MESSAGE. Raw text there does not compile.
 */
interface ProviderTextParams {
  PROVIDER_ERROR: 'error';
  REFRESH_REJECTED: 'reason';
  KEY_REJECTED: 'reason';
  SERVICE_ERROR: 'error' | 'detail';
  SERVICE_BAD_RESPONSE: 'reason';
}

/** A code's parameters: {@link Params}, with its provider-text parameters {@link Scrubbed}. */
export type ParamsFor<C extends MessageCode> = C extends keyof ProviderTextParams ? Params & { readonly [K in ProviderTextParams[C]]: Scrubbed } : Params;

/** A failure as data: what a handler returns, what the batch runner turns into a MESSAGE. */
export interface Failure {
  readonly code: MessageCode;
  readonly params: Params;
  readonly line?: number | undefined;
  readonly column?: number | undefined;
}

export function failure<C extends MessageCode>(code: C, params: ParamsFor<C> = {} as ParamsFor<C>, at?: { line: number; column: number }): Failure {
  return at ? { code, params, line: at.line, column: at.column } : { code, params };
}

/** Fills a code's template; a placeholder with no param stays visible so a missing param is noticed in tests. */
export function formatMessage(code: MessageCode, params: Params): string {
  return MESSAGES[code].message.replace(/\{(\w+)\}/g, (whole, key: string) =>
    Object.hasOwn(params, key) ? String(params[key]) : whole,
  );
}

/** The sentence with its position, as it appears in a MESSAGE. */
export function describe(f: Failure): string {
  const sentence = formatMessage(f.code, f.params);
  if (f.line === undefined) return sentence;
  const where = ` (line ${f.line}, column ${f.column})`;
  return sentence.endsWith('.') ? sentence.slice(0, -1) + where + '.' : sentence + where;
}

/**
 * The one exception type for input that stops a whole request (parse errors, limits) or a command deep in a
 * layer that cannot return data (a secret that does not decrypt). `switch (err.code)` narrows.
 */
export class NoriError extends Error {
  readonly failure: Failure;
  constructor(f: Failure, options?: { cause?: unknown }) {
    super(describe(f), options);
    this.name = 'NoriError';
    this.failure = f;
  }
  get code(): MessageCode {
    return this.failure.code;
  }
}
