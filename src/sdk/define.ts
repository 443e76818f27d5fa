/**
 * @module sdk/define
 * `definePlugin` ties a definition to its implementation with full type checking, and `ServiceError` is how
 * an implementation says the service refused something. Both are exported from the package.
 */
import type { Implementation, Plugin, PluginDefinition, PluginHooks, ServiceFailure } from './types.js';

/** Marks what definePlugin built, so the loader can tell a plugin from any other default export. */
export const PLUGIN_BRAND: unique symbol = Symbol.for('nori.plugin');

/**
 * Declares a plugin: its definition as data, one implementation per method, and optional hooks.
 * @example
 * export default definePlugin(
 *   { name: 'example', description: 'Example API', baseUrl: 'https://api.example.com', authType: 'oauth2',
 *     auth: { oauth2: { authorizeUrl: 'https://example.com/oauth/authorize', tokenUrl: 'https://api.example.com/oauth/token' } },
 *     methods: { GETPROFILE: { doc: 'The user.', params: {}, idempotent: true } } },
 *   { GETPROFILE: async ({ request }) => (await request({ url: '/me' })).json() },
 * );
 */
export function definePlugin<const D extends PluginDefinition>(definition: D, implementation: Implementation<D>, hooks: PluginHooks = {}): Plugin<D> {
  return Object.freeze({ definition, implementation, hooks, [PLUGIN_BRAND]: true });
}

export function isPlugin(value: unknown): value is Plugin {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[PLUGIN_BRAND] === true;
}

const SERVICE_ERROR_BRAND: unique symbol = Symbol.for('nori.service-error');

export function isServiceError(e: unknown): e is ServiceError {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[SERVICE_ERROR_BRAND] === true;
}

/**
 * Thrown by an implementation when the service answered but refused (a Bayard RESPONSE_FAILURE, a Dropbox
 * 409): the CALL answers SERVICE_ERROR with the service's own code, message and data.
 * @example
 * throw new ServiceError({ error: 'path/not_found/', message: 'No file at /a.txt' }, 409);
 */
export class ServiceError extends Error {
  override name = 'ServiceError';
  /** A plugin may be loaded through another module instance (npm package, tsx): the brand, not instanceof, says what it is. */
  readonly [SERVICE_ERROR_BRAND] = true;
  readonly failure: ServiceFailure;
  readonly status: number | undefined;
  constructor(failure: ServiceFailure, status?: number) {
    super(`${failure.error}${failure.message ? `: ${failure.message}` : ''}`);
    this.failure = failure;
    this.status = status;
  }
}

const PARAM_ERROR_BRAND: unique symbol = Symbol.for('nori.param-error');

/**
 * Thrown by an implementation when a parameter is wrong in a way its definition cannot say: the CALL answers
 * PARAM_INVALID, as it does for what the definition checks, and nothing more is sent.
 * @example
 * if (!isSameDomain(params.URL)) throw new ParamError('URL', 'a URL on the service\'s own domain');
 */
export class ParamError extends Error {
  override name = 'ParamError';
  readonly [PARAM_ERROR_BRAND] = true;
  constructor(readonly param: string, readonly expected: string) {
    super(`${param} must be ${expected}`);
  }
}

export function isParamError(e: unknown): e is ParamError {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[PARAM_ERROR_BRAND] === true;
}

const CONSENT_BRAND: unique symbol = Symbol.for('nori.consent-required');

/**
 * Thrown by an implementation when the service will not answer until the user consents on a page of its own
 * (Orange's PrivacyAccessDeniedException): nori keeps the CALL, sends the account to `requested`, and answers
 * CONSENT_REQUIRED with `url` (this one, with nori's return address appended as `returnParam`) for the browser.
 * @example
 * throw new ConsentRequired(privacyUrl, 'urlRetour');
 */
export class ConsentRequired extends Error {
  override name = 'ConsentRequired';
  readonly [CONSENT_BRAND] = true;
  /** `url` exactly as the service sent it; nori appends `&<returnParam>=<its callback>` and changes nothing else. */
  constructor(readonly url: string, readonly returnParam: string) {
    super('the service needs the user\'s consent');
  }
}

export function isConsentRequired(e: unknown): e is ConsentRequired {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[CONSENT_BRAND] === true;
}

const BAD_RESPONSE_BRAND: unique symbol = Symbol.for('nori.bad-response');

/**
 * Thrown by an implementation when a successful answer is not what the service documents (a list that is not
 * a list, a header that does not parse): the CALL answers SERVICE_BAD_RESPONSE with the reason.
 * @example
 * if (!Array.isArray(body)) throw new BadResponse('the mappings are not a list');
 */
export class BadResponse extends Error {
  override name = 'BadResponse';
  readonly [BAD_RESPONSE_BRAND] = true;
  constructor(readonly reason: string) {
    super(reason);
  }
}

export function isBadResponse(e: unknown): e is BadResponse {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[BAD_RESPONSE_BRAND] === true;
}
