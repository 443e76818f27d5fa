/**
 * @module sdk/types
 * What a plugin author writes against: the definition (data: auth, URLs, settings, methods and their
 * parameters) and the context a method implementation receives. Parameter types are inferred from the
 * definition, so `params.TEXT` is a `string` exactly when the definition says so.
 */
import type { XmlNode } from '../xml/parse.js';

export type AuthType = 'oauth1' | 'oauth2' | 'apikey' | 'consent';

/** How a CALL parameter is read from its XML element. */
export type ParamType = 'text' | 'integer' | 'boolean' | 'enum' | 'url' | 'email' | 'base64' | 'list' | 'map';

export interface ParamDef {
  readonly type: ParamType;
  readonly doc: string;
  readonly required?: boolean;
  /** text, url, email, list items, map values: most characters; base64: most decoded bytes. */
  readonly maxLength?: number;
  /** enum: the accepted values. */
  readonly values?: readonly string[];
  /** integer: bounds, inclusive. */
  readonly min?: number;
  readonly max?: number;
  /** text: a regular expression the whole value must match (e.g. `[0-9]{1,19}` for an id too long for integer). */
  readonly pattern?: string;
  /** A password or the like: never logged, never echoed in an error. */
  readonly secret?: boolean;
}

export interface MethodDef {
  readonly doc: string;
  readonly params: Readonly<Record<string, ParamDef>>;
  /**
   * Whether sending the method twice does no more than sending it once, so nori may retry it after a timeout
   * or a 5xx. Default false: a POST that timed out may have happened. A 429 is always retried (not processed).
   */
  readonly idempotent?: boolean;
}

export interface OAuth1Urls {
  readonly requestTokenUrl: string;
  readonly authorizeUrl: string;
  readonly tokenUrl: string;
}

export interface OAuth2Urls {
  readonly authorizeUrl: string;
  readonly tokenUrl: string;
  readonly revokeUrl?: string;
  /** Scopes asked for, separated by spaces. */
  readonly scopes?: string;
  /** Extra query parameters of the authorization URL (e.g. Dropbox's token_access_type=offline). */
  readonly authorizeParams?: Readonly<Record<string, string>>;
}

export interface SettingDef {
  readonly doc: string;
  readonly type: 'text' | 'url';
  readonly default?: string;
}

export interface PluginDefinition {
  /** Lower-case name: the folder's name, and the DENOMINATION of the WEBAPI nori keeps for it. */
  readonly name: string;
  readonly description: string;
  /** Base URL of the service's API; request paths are joined to it. */
  readonly baseUrl: string;
  /** The AUTH_TYPE of the WEBAPI nori creates; an admin may pick another one listed in `auth`. */
  readonly authType: AuthType;
  /** Default endpoints per auth type the plugin supports (apikey and consent need none). */
  readonly auth: { readonly oauth1?: OAuth1Urls; readonly oauth2?: OAuth2Urls; readonly apikey?: Record<string, never>; readonly consent?: Record<string, never> };
  /** Further settings an admin may set in WEBAPI SETTINGS (upper-case names). */
  readonly settings?: Readonly<Record<string, SettingDef>>;
  /** CALL methods, by upper-case element name. */
  readonly methods: Readonly<Record<string, MethodDef>>;
}

type ValueOf<P extends ParamDef> = P['type'] extends 'integer'
  ? number
  : P['type'] extends 'boolean'
    ? boolean
    : P['type'] extends 'base64'
      ? Buffer
      : P['type'] extends 'list'
        ? string[]
        : P['type'] extends 'map'
          ? Record<string, string>
          : P extends { readonly values: readonly (infer V)[] }
            ? V
            : string;

type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** The typed parameters a method implementation receives. */
export type ParamsOf<M extends MethodDef> = Simplify<
  { -readonly [K in keyof M['params'] as M['params'][K]['required'] extends true ? K : never]: ValueOf<M['params'][K]> } & {
    -readonly [K in keyof M['params'] as M['params'][K]['required'] extends true ? never : K]?: ValueOf<M['params'][K]>;
  }
>;

/** A request to the service. The account's credentials sign it; nori retries, refreshes and times it out. */
export interface ServiceRequest {
  readonly method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** A path joined to the base URL (or to the setting named by `base`), or an absolute URL. */
  readonly url: string;
  /** Name of a setting holding the base URL for this request (e.g. Dropbox's CONTENT_URL). */
  readonly base?: string;
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent as application/json. */
  readonly json?: unknown;
  /** Sent as application/x-www-form-urlencoded (and signed, with OAuth 1.0a). */
  readonly form?: Readonly<Record<string, string>>;
  readonly body?: Uint8Array | string;
  /** How credentials go with it. Default: by the WEBAPI's AUTH_TYPE (oauth1 signs, oauth2 sends a bearer token, others nothing). */
  readonly auth?: 'bearer' | 'oauth1' | 'none';
  /** Overrides the method's `idempotent` for this request. */
  readonly idempotent?: boolean;
  /** Statuses the plugin reads itself rather than nori turning them into errors (e.g. Dropbox's 409). */
  readonly accept?: readonly number[];
}

export interface ServiceResponse {
  readonly status: number;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  text(): string;
  /** The body as JSON; a body that is not JSON fails the CALL with SERVICE_BAD_RESPONSE. */
  json<T = unknown>(): T;
  /**
   * The body if it is a JSON object, else undefined (not JSON, an array, a bare value): what a `serviceError`
   * hook reads, since a refusal may come as an HTML page or plain text. Never fails the CALL.
   * @example
   * serviceError: (res) => {
   *   const b = res.jsonObject();
   *   return typeof b?.code === 'string' ? { error: b.code } : undefined;
   * }
   */
  jsonObject(): Readonly<Record<string, unknown>> | undefined;
  /** The body as XML through nori's hardened parser (no DOCTYPE, bounded); malformed → SERVICE_BAD_RESPONSE. */
  xml(): XmlElement;
}

export type XmlElement = XmlNode;

/** What a method returns; nori writes it as XML under the method's element (docs/plugins.md, "Results"). */
export type ResultValue = string | number | boolean | null | undefined | Uint8Array | readonly ResultValue[] | { readonly [key: string]: ResultValue };

export interface PluginLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

/**
 * What every implementation receives: its account, its WEBAPI, and a request function that signs for it.
 * What a plugin hands back to nori (its result's strings, `warn`, `note`, `log`, a thrown ServiceError,
 * BadResponse or ConsentRequired, a checkKey reason) is scrubbed of the CALL's secrets, as docs/plugins.md says.
 */
export interface ServiceContext {
  readonly account: { readonly id: number; readonly login: string | null };
  readonly api: { readonly name: string; readonly authType: AuthType; readonly baseUrl: string; readonly settings: Readonly<Record<string, string>> };
  /** The account's stored TOKEN and TOKEN_SECRET, for services that take them in the URL (API keys). Never log them. */
  readonly credentials: { readonly token: string | null; readonly tokenSecret: string | null };
  request(request: ServiceRequest): Promise<ServiceResponse>;
  /** Tells the caller something is off without failing (a <WARNING> on the result) and logs it at warn level. */
  warn(code: string, message: string): void;
  /** An attribute on the result, or on the error if the CALL fails (e.g. a support id). */
  note(name: string, value: string): void;
  readonly log: PluginLogger;
}

export interface CallContext<P> extends ServiceContext {
  readonly method: string;
  readonly params: P;
}

export type MethodImplementation<M extends MethodDef> = (call: CallContext<ParamsOf<M>>) => Promise<ResultValue>;

export type Implementation<D extends PluginDefinition> = { readonly [K in keyof D['methods']]: MethodImplementation<D['methods'][K]> };

/**
 * The service's own error, as a plugin reads it from a failed response. nori scrubs it of what the CALL sent
 * (the account's tokens, the client secret, `secret` parameters, in any encoding) before it reaches the
 * MESSAGE or a log line: a service that echoes its request cannot hand the owner's token to the caller.
 */
export interface ServiceFailure {
  /** The service's error code (`invalid_request`, `-1001`, `path/not_found/`…). */
  readonly error: string;
  readonly message?: string | undefined;
  /** Further details passed to the caller as they are (e.g. RooX's `data`). */
  readonly data?: string | undefined;
  /**
   * From hooks.serviceError: this answer means the account's credentials are dead, whatever its status (Bayard
   * answers an unknown url_key with a 400). The account goes back to `waiting`, as after a refused 401.
   */
  readonly rejectsCredentials?: boolean;
}

export interface PluginHooks {
  /** Reads the service's error from a failed response; default: JSON `error`/`error_description`/`message`/`detail`/`title`. */
  serviceError?(response: ServiceResponse): ServiceFailure | undefined;
  /** Sees every response, successful or not (e.g. to surface a maturity header or support ids). */
  inspect?(response: ServiceResponse, context: Pick<ServiceContext, 'warn' | 'note'>): void;
  /** apikey WEBAPIs: checks the account's key at the service. `true`, or the reason it was refused. */
  checkKey?(context: ServiceContext): Promise<true | string>;
  /**
   * Revokes the account's tokens at the service when it is revoked in nori, for services whose revocation is not
   * RFC 7009 (Dropbox's bearer-authenticated /2/auth/token/revoke, X's signed OAuth 1.0a invalidate_token). One
   * function serves every auth type; an object names the auth types it serves (`{ oauth1: … }`), and the others
   * use the WEBAPI's REVOKE_URL, as a plugin without the hook does. Throwing (a refusal, a failed request) says
   * the revocation failed: nori erases the tokens anyway and records why.
   */
  revoke?: Revoker | { readonly [A in AuthType]?: Revoker };
}

/** A plugin's own revocation at the service (hooks.revoke); `context.credentials` holds the tokens to revoke. */
export type Revoker = (context: ServiceContext) => Promise<void>;

export interface Plugin<D extends PluginDefinition = PluginDefinition> {
  readonly definition: D;
  readonly implementation: Implementation<D>;
  readonly hooks: PluginHooks;
}
