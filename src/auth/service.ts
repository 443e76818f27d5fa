/**
 * @module auth/service
 * The authorization flows: AUTHORIZE opens one, its start link binds it to a browser, the callback from that
 * browser finishes it; fresh tokens come from a refresh that is single-flight across processes (a row lock in
 * PostgreSQL), REVOKE reaches the provider too.
 */
import type { Knex } from 'knex';
import { WEBACCOUNT } from '../../schemas/index.js';
import { failure, MESSAGES, type Failure, type MessageCode } from '../errors.js';
import { failed, type Attributes, type Outcome } from '../outcome.js';
import type { Principal } from '../principal.js';
import { readSecrets, type Row } from '../store/elements.js';
import type { Keyring } from '../store/secrets.js';
import type { HttpClient } from '../call/http-client.js';
import { BlockedTarget, checkTarget, type Resolver } from '../call/targets.js';
import { bindingCookie, bindingValues, hashBinding, newBinding } from './browser-binding.js';
import { claimPendingFlow, followStartLink, newStartLink, newState, savePendingFlow } from './pending-flows.js';
import { clip, ours, safe, scrubberFor, type LogFor, type Scrubbed, type Scrubber } from '../scrub.js';
import { ProviderError, type FlowStep, type TokenSet } from './provider-error.js';
import { callbackRefusal, exchangeRefusal } from './refusals.js';
import { isAllowedReturnUrl } from './return-urls.js';
import { nextState, type AuthState } from './state-machine.js';
import type { ApiLoader, ApiSettings } from '../plugins/apis.js';
import { STRATEGIES, type RedirectStrategy, type Strategy } from './strategies.js';
import { applyEvent, isTransition } from './transitions.js';

export interface AuthConfig {
  /** Base URL under which the browser reaches nori; the callback is `${publicUrl}/oauth/callback`. */
  readonly publicUrl: string;
  /** Prefixes a return URL must start with (same origin, path prefix). */
  readonly returnUrls: readonly string[];
  readonly flowTtlSeconds: number;
  readonly providerTimeoutMs: number;
  /** A token this close to expiry is refreshed before use. */
  readonly refreshSkewSeconds: number;
  /** Refuse provider endpoints at private or local addresses (NORI_BLOCK_PRIVATE_TARGETS). */
  readonly blockPrivateTargets?: boolean;
}

/** How a callback ends: a redirect to the caller's return URL, or a page when there is none. */
export interface CallbackResult {
  readonly status: number;
  readonly code: MessageCode;
  /** Shown to the user's browser: scrubbed like a MESSAGE. */
  readonly message: Scrubbed;
  readonly accountId?: number;
  readonly location?: string;
}

/** How following a start link ends: a 303 to the provider with the binding to keep, or a page. */
export interface StartResult {
  readonly status: number;
  readonly code: MessageCode;
  readonly message: string;
  /** Where to send the browser (303): the provider's authorize URL, or a service's consent page. */
  readonly location?: string;
  /** The value the callback must bring back (`finishAuthorization(query, { browserBinding })`). */
  readonly browserBinding?: string;
  /** The Set-Cookie value nori's own start route sends with the 303, holding `browserBinding`. */
  readonly cookie?: string;
}

/** The browser's binding value(s): from the binding cookie, or from wherever a CMS that mounts the routes keeps it. */
export interface BrowserOptions {
  readonly browserBinding?: string | readonly string[];
}

export interface Credentials {
  readonly accessToken: string;
  readonly tokenSecret: string | null;
}

export interface AuthService {
  authorize(trx: Knex.Transaction, principal: Principal, account: Row, returnUrl: string | undefined): Promise<Outcome>;
  /** Follows a start link (its `flow` token) in a browser, once: binds the flow to it, and gives the provider's URL. */
  start(token: string, options?: BrowserOptions): Promise<StartResult>;
  /** The callback: finishes the flow of the query's state, if the browser's binding is the one its start link set. */
  finish(query: URLSearchParams, options?: BrowserOptions): Promise<CallbackResult>;
  /** Revokes at the provider where it can; returns a note for the transition's reason. Never throws. */
  revokeAtProvider(trx: Knex.Transaction, accountId: number): Promise<Scrubbed | undefined>;
  /**
   * A usable access token: refreshed first when stale, or when `rejected` is the token a provider just refused.
   * `stored`: the account's token columns, read by the caller with the account (no second query when fresh).
   */
  credentials(accountId: number, options?: { rejected?: string; stored?: StoredToken }): Promise<Credentials | Failure>;
}

/** An account's token columns as stored (encrypted). */
export interface StoredToken {
  readonly authorization_state: AuthState;
  readonly token_expires: Date | null;
  readonly token: string | null;
  readonly token_secret: string | null;
}

/** The columns of {@link StoredToken}. */
export const TOKEN_COLUMNS = ['authorization_state', 'token_expires', 'token', 'token_secret'] as const;

const CONTEXT_TOKEN = (column: string) => `webaccount.${column}`;

/** Checks an API key at the service through its plugin: true, the service's refusal (scrubbed), or why it could not ask. */
export type KeyChecker = (api: ApiSettings, account: { id: number; login: string | null }, credentials: { token: string; tokenSecret: string | null }) => Promise<true | Scrubbed | { failure: Failure; attributes: Attributes }>;

/**
 * The plugin's own revocation (hooks.revoke): true, or why it failed. `refresh`, when the account has a refresh
 * token, gets a new access token for the revocation alone (undefined if the provider refuses).
 */
export type PluginRevoker = (api: ApiSettings, account: { id: number; login: string | null }, credentials: { token: string | null; tokenSecret: string | null }, refresh?: () => Promise<string | undefined>) => Promise<true | Scrubbed>;

/** Runs a CALL kept across a consent page again, at its callback (call/service.ts). */
export type ConsentResumer = (flow: { id: number; accountId: number }) => Promise<{ kind: 'granted' } | { kind: 'refused' | 'unavailable'; reason: Scrubbed }>;

/**
 * `http`: nori's HTTP client, which every provider request goes through (or connects under, for simple-oauth2):
 * with private targets refused, each connection checks the address it connects to. `resolve`: the resolver of
 * that guard, which the early check at AUTHORIZE uses too. `logs`: log lines only through a scrubber.
 */
export function createAuthService(deps: { knex: Knex; keyring: Keyring; logs: LogFor; config: AuthConfig; http: HttpClient; resolve?: Resolver | undefined; loadApi: ApiLoader; checkKey: KeyChecker; revokeWithPlugin: PluginRevoker; resumeConsent: ConsentResumer }): AuthService {
  const { knex, keyring, logs, config, loadApi, http } = deps;
  /** The WEBAPI's own secret, for what is said of it outside an exchange (which scrubs its own). */
  const apiScrubber = (api: ApiSettings | undefined): Scrubber => scrubberFor({ values: [api?.clientSecret], ...(api?.clientId && api.clientSecret ? { basic: { id: api.clientId, secret: api.clientSecret } } : {}) });
  /** An administrator's name for the WEBAPI, in a callback page. */
  const named = (api: ApiSettings): Scrubbed => ours(api.name);
  const callbackBase = `${config.publicUrl.replace(/\/$/, '')}/oauth/callback`;

  const tokenColumns = (t: TokenSet) => ({
    token: keyring.encrypt(t.accessToken, CONTEXT_TOKEN('token')),
    token_secret: t.tokenSecret !== undefined ? keyring.encrypt(t.tokenSecret, CONTEXT_TOKEN('token_secret')) : null,
    refresh_token: t.refreshToken !== undefined ? keyring.encrypt(t.refreshToken, CONTEXT_TOKEN('refresh_token')) : null,
    token_expires: t.expiresAt ?? null,
    // A refresh that names no scope keeps the granted ones (RFC 6749 §5.1: unchanged unless said).
    ...(t.scope !== undefined ? { granted_scopes: t.scope.slice(0, 1024) } : {}),
  });

  /**
   * Before a flow begins, the endpoints it will send to are checked by name when private targets are refused, so
   * no user is sent to the provider for a flow that cannot finish. Not the guard: the name may resolve elsewhere
   * by the time of the callback (DNS rebinding), and the connection checks the address it then connects to.
   */
  async function precheck(step: FlowStep, ...urls: (string | null)[]): Promise<void> {
    if (!config.blockPrivateTargets) return;
    for (const url of urls) {
      if (!url) continue;
      try {
        await checkTarget(url, deps.resolve);
      } catch (e) {
        // The message names the host of an administrator's URL and the address nori resolved it to.
        throw new ProviderError(step, { error: e instanceof BlockedTarget ? safe`blocked_target` : safe`unreachable`, description: e instanceof BlockedTarget ? ours(e.message) : undefined, cause: e });
      }
    }
  }

  const providerFailure = (e: ProviderError, api: string): Failure =>
    failure('PROVIDER_ERROR', { api, step: e.step, status: e.status ?? 'none', error: e.error });

  async function authorize(trx: Knex.Transaction, principal: Principal, account: Row, returnUrl: string | undefined): Promise<Outcome> {
    const id = account.ID as number;
    if (returnUrl !== undefined && !isAllowedReturnUrl(returnUrl, config.returnUrls)) return failed(failure('RETURN_URL_NOT_ALLOWED', {}), String(id));
    const state = account.AUTHORIZATION_STATE as AuthState;
    if (!nextState(state, 'request')) return failed(failure('ILLEGAL_TRANSITION', { id, from: state, to: 'requested', allowed: 'waiting or requested' }), String(id));
    const api = await loadApi(trx, account.API as string);
    if (!api) return failed(failure('WEBAPI_INACTIVE', { api: String(account.API) }), String(id));
    const strategy = STRATEGIES.get(api.authType);
    // Every AUTH_TYPE the schema allows has a strategy; a new one without is a programmer's error.
    if (!strategy) throw new Error(`no authorization strategy for AUTH_TYPE ${api.authType}`);
    const missing = strategy.needs.filter((k) => !api[k]);
    // Named as the admin knows them: clientId is CLIENT_ID.
    if (missing.length) return failed(failure('WEBAPI_INCOMPLETE', { api: api.name, fields: missing.map((k) => k.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()).join(', ') }), String(id));
    if (!strategy.redirect) return authorizeKey(trx, principal, account, api);

    const flowState = newState();
    // OAuth 1.0a has no state parameter: nori's rides in the callback URL, and the oauth_token is matched too.
    const callbackUrl = api.authType === 'oauth1' ? `${callbackBase}?state=${flowState}` : callbackBase;
    let started;
    try {
      await precheck('request token', api.authType === 'oauth1' ? api.requestTokenUrl : null);
      await precheck('token exchange', api.tokenUrl);
      started = await strategy.start(api, http, { state: flowState, callbackUrl });
    } catch (e) {
      if (e instanceof ProviderError) return failed(providerFailure(e, api.name), String(id));
      throw e;
    }
    // The caller gets nori's start link, not the provider's URL: the flow is bound to the browser that follows it.
    const link = newStartLink(config.publicUrl);
    await savePendingFlow(trx, keyring, {
      state: flowState, start: link, providerUrl: started.url, accountId: id, contactId: principal.contactId, kind: api.authType,
      ...(started.requestToken ? { requestToken: started.requestToken } : {}),
      secret: started.secret, returnUrl, ttlSeconds: config.flowTtlSeconds,
    });
    const moved = await applyEvent(trx, id, 'request', { contactId: principal.contactId });
    if (!isTransition(moved)) return failed(moved, String(id));
    return {
      kind: 'done', code: 'AUTHORIZATION_STARTED', elementID: String(id),
      params: { id, api: api.name, minutes: Math.round(config.flowTtlSeconds / 60) },
      attributes: { url: ours(link.url) /* nori's own start link */ },
    };
  }

  /** An API key needs no browser: the plugin checks it at the service, and the account moves at once. */
  async function authorizeKey(trx: Knex.Transaction, principal: Principal, account: Row, api: ApiSettings): Promise<Outcome> {
    const id = account.ID as number;
    const { TOKEN, TOKEN_SECRET } = await readSecrets(trx, WEBACCOUNT, id, keyring);
    if (!TOKEN) return failed(failure('KEY_MISSING', { id }), String(id));
    const checked = await deps.checkKey(api, { id, login: (account.LOGIN as string | null) ?? null }, { token: TOKEN, tokenSecret: TOKEN_SECRET ?? null });
    if (typeof checked === 'object') return failed(checked.failure, String(id), checked.attributes);
    const by = { contactId: principal.contactId };
    const requested = await applyEvent(trx, id, 'request', by);
    if (!isTransition(requested)) return failed(requested, String(id));
    if (checked !== true) {
      const reason = safe`the service refused the key: ${clip(checked, 200)}`;
      await applyEvent(trx, id, 'fail', { ...by, reason });
      // commit: the refusal and its reason are recorded, though the command failed.
      return { ...failed(failure('KEY_REJECTED', { api: api.name, id, reason: clip(checked, 200) }), String(id)), commit: true };
    }
    const granted = await applyEvent(trx, id, 'grant', by);
    if (!isTransition(granted)) return failed(granted, String(id));
    return { kind: 'done', code: 'AUTHORIZED', params: { id, api: api.name }, elementID: String(id) };
  }

  const redirectStrategy = (s: Strategy | undefined): RedirectStrategy | undefined => (s?.redirect ? s : undefined);

  const changedMeanwhile = (id: number) => safe`WEBACCOUNT ${id} changed state during the authorization; nothing was stored.`;

  /** Ends a flow: records the outcome on the account and tells the browser where to go. */
  async function conclude(flow: { accountId: number; returnUrl: string | null }, code: MessageCode, status: number, message: Scrubbed, event?: { name: 'grant' | 'fail' | 'expire'; reason?: Scrubbed; columns?: Record<string, unknown> }): Promise<CallbackResult> {
    let finalCode = code;
    let finalStatus = status;
    if (event) {
      const moved = await knex.transaction((trx) => applyEvent(trx, flow.accountId, event.name, { contactId: null, reason: event.reason, columns: event.columns }));
      if (!isTransition(moved)) {
        // The account moved meanwhile (revoked, disabled by its owner): the flow's result is void.
        finalCode = 'ILLEGAL_TRANSITION';
        finalStatus = 409;
        message = changedMeanwhile(flow.accountId);
      }
    }
    const result = { status: finalStatus, code: finalCode, message, accountId: flow.accountId };
    if (!flow.returnUrl) return result;
    const location = new URL(flow.returnUrl);
    location.searchParams.set('webaccount', String(flow.accountId));
    location.searchParams.set('outcome', finalCode === 'AUTHORIZED' ? 'authorized' : 'error');
    if (finalCode !== 'AUTHORIZED') location.searchParams.set('error', finalCode);
    return { ...result, status: 303, location: location.toString() };
  }

  /** The WEBAPI of an account, to name it (and its scopes) in a refusal; undefined if it is gone. */
  async function apiOfAccount(accountId: number): Promise<ApiSettings | undefined> {
    const account = (await knex('webaccount').first('api').where('id', accountId)) as { api: string } | undefined;
    return account && loadApi(knex, account.api);
  }

  const page = (code: MessageCode, message: Scrubbed = ours(MESSAGES[code].message) /* nori's own sentence */) => ({ status: MESSAGES[code].status, code, message });

  async function start(token: string, options: BrowserOptions = {}): Promise<StartResult> {
    // Lengths before patterns: a start token is 43 base64url characters, as a state is.
    if (typeof token !== 'string' || token.length !== 43 || !/^[\w-]+$/.test(token)) return page('START_INVALID');
    // A browser that already has a binding keeps it: its other open flows stay bound to it.
    const binding = bindingValues(options.browserBinding)[0] ?? newBinding();
    const followed = await followStartLink(knex, keyring, token, hashBinding(binding));
    if (followed.kind === 'unknown') return page('START_INVALID');
    if (followed.kind === 'used') return page('START_USED');
    if (followed.kind === 'expired') return page('FLOW_EXPIRED');
    return {
      status: 303, code: 'AUTHORIZATION_STARTED', message: 'On to the service.', location: followed.providerUrl,
      browserBinding: binding, cookie: bindingCookie(binding, config.publicUrl, config.flowTtlSeconds),
    };
  }

  async function finish(query: URLSearchParams, options: BrowserOptions = {}): Promise<CallbackResult> {
    const state = query.get('state');
    if (!state) return { status: 400, code: 'CALLBACK_INVALID', message: safe`This callback carries no state: it did not come from an authorization nori started.` };
    const claim = await claimPendingFlow(knex, keyring, state, options.browserBinding);
    if (claim.kind === 'unknown') return { status: 400, code: 'CALLBACK_INVALID', message: safe`This callback's state is unknown: it did not come from an authorization nori started.` };
    if (claim.kind === 'unbound') {
      // Logged without the state or any cookie: someone else's link was opened here, or an attack was tried.
      logs(scrubberFor({ values: [] })).warn({ account: claim.accountId }, 'a callback came from a browser its flow is not bound to; refused, the flow is left open');
      return page('CALLBACK_UNBOUND');
    }
    if (claim.kind === 'used') return { status: 409, code: 'CALLBACK_REPLAYED', message: safe`This authorization was already finished, or superseded by a newer one.` };
    // Revoked while its user was at the provider: the documented ILLEGAL_TRANSITION, to the return URL when there is one.
    if (claim.kind === 'revoked') return conclude(claim.flow, 'ILLEGAL_TRANSITION', 409, changedMeanwhile(claim.flow.accountId));
    const flow = claim.flow;
    if (flow.expiresAt.getTime() < Date.now()) {
      return conclude(flow, 'FLOW_EXPIRED', 410, safe`The authorization took too long; ask for a new one.`, { name: 'expire', reason: safe`the authorization link expired before the user came back` });
    }
    // Deleted while its user was away: nothing runs at the service (no code exchange, no kept CALL run again).
    const live = (await knex('webaccount').first('activity').where('id', flow.accountId)) as { activity: number } | undefined;
    if (live && live.activity !== 1) {
      return conclude(flow, 'ACCOUNT_DELETED', 410, safe`WEBACCOUNT ${flow.accountId} was deleted during the authorization; nothing was stored.`, { name: 'fail', reason: safe`the account was deleted during the authorization` });
    }
    const denied = query.get('error') ?? (query.has('denied') ? 'access_denied' : null);
    if (denied) {
      // Who refused (the user, the scopes, the client, the service) is in the error code: auth/refusals.ts.
      // The provider's words, through the browser: scrubbed of what the flow holds, then cut.
      const words = scrubberFor({ values: [flow.secret] });
      const raw = query.get('error_description');
      const description = raw ? clip(words.scrub(raw), 200) : undefined;
      const refusal = callbackRefusal(denied, await apiOfAccount(flow.accountId));
      return conclude(flow, refusal.code, refusal.status, words.scrub(refusal.message), { name: 'fail', reason: safe`the service answered ${clip(words.scrub(denied), 64)}${description ? safe`: ${description}` : safe``}` });
    }
    if (flow.kind === 'consent') {
      // The consent page sends the user back with nothing added: running the kept CALL again says what was chosen.
      const resumed = await deps.resumeConsent(flow);
      if (resumed.kind === 'granted') return conclude(flow, 'AUTHORIZED', 200, safe`WEBACCOUNT ${flow.accountId} may be called again; collect the kept result with replay.`, { name: 'grant' });
      if (resumed.kind === 'refused') return conclude(flow, 'CONSENT_REFUSED', 403, safe`The service was not allowed to answer.`, { name: 'fail', reason: resumed.reason });
      return conclude(flow, 'PROVIDER_ERROR', 502, safe`The service could not answer after the consent page.`, { name: 'fail', reason: resumed.reason });
    }
    if (flow.kind === 'oauth1' && query.get('oauth_token') !== flow.requestToken) {
      return conclude(flow, 'CALLBACK_INVALID', 400, safe`The callback's oauth_token is not the one this authorization asked for.`, { name: 'fail', reason: safe`the callback carried another oauth_token` });
    }
    const account = (await knex('webaccount').first('api').where('id', flow.accountId)) as { api: string } | undefined;
    const api = account && (await loadApi(knex, account.api));
    const strategy = api && redirectStrategy(STRATEGIES.get(api.authType));
    if (!api || !strategy) return conclude(flow, 'WEBAPI_INACTIVE', 409, safe`The service was disabled during the authorization.`, { name: 'fail', reason: safe`the WEBAPI was disabled during the authorization` });
    let tokens: TokenSet;
    try {
      const callbackUrl = api.authType === 'oauth1' ? `${callbackBase}?state=${state}` : callbackBase;
      tokens = await strategy.finish(api, http, { query, callbackUrl, secret: flow.secret });
    } catch (e) {
      if (!(e instanceof ProviderError)) throw e;
      logs(apiScrubber(api)).warn({ account: flow.accountId, api: api.name, step: e.step, status: e.status, error: e.error }, 'authorization failed at the provider');
      const scopes = exchangeRefusal(e.error, e.description, api);
      // Its sentence is made of the WEBAPI's scopes and the error's scrubbed fields.
      if (scopes) return conclude(flow, scopes.code, scopes.status, ours(scopes.message), { name: 'fail', reason: e.reason });
      return conclude(flow, 'PROVIDER_ERROR', 502, safe`The service refused to finish the authorization (${e.error}).`, { name: 'fail', reason: e.reason });
    }
    return conclude(flow, 'AUTHORIZED', 200, safe`WEBACCOUNT ${flow.accountId} is authorized on ${named(api)}.`, { name: 'grant', columns: tokenColumns(tokens) });
  }

  async function revokeAtProvider(trx: Knex.Transaction, accountId: number): Promise<Scrubbed | undefined> {
    const account = (await trx('webaccount').first('api', 'authorization_state', 'token_expires').where('id', accountId)) as { api: string; authorization_state: AuthState; token_expires: Date | null } | undefined;
    if (!account || account.authorization_state === 'revoked') return undefined;
    const api = await loadApi(trx, account.api);
    if (!api) return undefined;
    const { TOKEN, TOKEN_SECRET, REFRESH_TOKEN } = await readSecrets(trx, WEBACCOUNT, accountId, keyring);
    if (!TOKEN && !REFRESH_TOKEN) return undefined;
    if (api.revoke) {
      // A plugin's revocation (Dropbox's) presents the access token: an expired one would be refused, and the
      // refresh token would live on at the provider. So an expired token is refreshed first, and a refused one
      // once. The new token is only used to revoke, never stored: the transition erases the tokens right after.
      const renew = refresher(api, REFRESH_TOKEN);
      // Renewed first, or offered for a 401: never twice, a refresh the provider refused would only be refused again.
      const first = renew !== undefined && (isStale(account.token_expires) || !TOKEN);
      const token = (first ? await renew() : undefined) ?? TOKEN ?? null;
      const done = await deps.revokeWithPlugin(api, { id: accountId, login: null }, { token, tokenSecret: TOKEN_SECRET ?? null }, first ? undefined : renew);
      if (done === true) return safe`tokens revoked at the service`;
      logs(apiScrubber(api)).warn({ account: accountId, api: api.name, reason: done }, 'revocation at the provider failed; tokens erased locally');
      return safe`tokens erased; revocation at the service failed: ${done}`;
    }
    const strategy = redirectStrategy(STRATEGIES.get(api.authType));
    if (!strategy?.revoke || !api.revokeUrl) return undefined;
    try {
      await strategy.revoke(api, http, { accessToken: TOKEN ?? null, refreshToken: REFRESH_TOKEN ?? null });
      return safe`tokens revoked at the service`;
    } catch (e) {
      const reason = e instanceof ProviderError ? e.reason : safe`unexpected error`;
      logs(apiScrubber(api)).warn({ account: accountId, api: api.name, reason }, 'revocation at the provider failed; tokens erased locally');
      return safe`tokens erased; revocation at the service failed: ${reason}`;
    }
  }

  /** An access token expiring within the refresh skew counts as expired (none: it never expires). */
  const isStale = (expires: Date | null) => expires !== null && expires.getTime() - config.refreshSkewSeconds * 1000 <= Date.now();

  /** A new access token from the refresh token, for a revocation; undefined when the provider refuses. */
  function refresher(api: ApiSettings, refreshToken: string | null | undefined): (() => Promise<string | undefined>) | undefined {
    const strategy = redirectStrategy(STRATEGIES.get(api.authType));
    if (!strategy?.refresh || !refreshToken) return undefined;
    return async () => {
      try {
        return (await strategy.refresh!(api, http, refreshToken)).accessToken;
      } catch (e) {
        if (!(e instanceof ProviderError)) throw e;
        logs(apiScrubber(api).with({ values: [refreshToken] })).info({ api: api.name, reason: e.reason }, 'no fresh token for the revocation');
        return undefined;
      }
    };
  }

  /** The stored token if it is fresh, read without a lock or a transaction: the common case, one query. */
  async function freshToken(accountId: number): Promise<Credentials | undefined> {
    const row = (await knex('webaccount').first(...TOKEN_COLUMNS).where('id', accountId)) as StoredToken | undefined;
    return row && freshFrom(accountId, row);
  }

  /** The token of a row already read, if it is fresh. */
  function freshFrom(accountId: number, row: StoredToken): Credentials | undefined {
    if (row.authorization_state !== 'authorized' || !row.token) return undefined;
    if (isStale(row.token_expires)) return undefined;
    const owner = { element: 'WEBACCOUNT', id: accountId };
    return {
      accessToken: keyring.decrypt(row.token, CONTEXT_TOKEN('token'), owner),
      tokenSecret: row.token_secret ? keyring.decrypt(row.token_secret, CONTEXT_TOKEN('token_secret'), owner) : null,
    };
  }

  async function credentials(accountId: number, options: { rejected?: string; stored?: StoredToken } = {}): Promise<Credentials | Failure> {
    if (options.rejected === undefined) {
      const fresh = options.stored ? freshFrom(accountId, options.stored) : await freshToken(accountId);
      if (fresh) return fresh;
    }
    return knex.transaction(async (trx) => {
      // The row lock makes refresh single-flight: concurrent callers, in any process, wait here and then find
      // the token the first one stored.
      const row = await trx('webaccount').first('api', 'authorization_state', 'token_expires').where('id', accountId).forUpdate();
      if (!row) return failure('NOT_FOUND', { element: 'WEBACCOUNT', id: accountId });
      const state = row.authorization_state as AuthState;
      if (state !== 'authorized') return failure('NOT_AUTHORIZED', { id: accountId, state });
      const secrets = await readSecrets(trx, WEBACCOUNT, accountId, keyring);
      const expires = row.token_expires as Date | null;
      const stale = options.rejected !== undefined ? secrets.TOKEN === options.rejected : isStale(expires);
      if (!stale && secrets.TOKEN) return { accessToken: secrets.TOKEN, tokenSecret: secrets.TOKEN_SECRET ?? null };
      const api = await loadApi(trx, row.api as string);
      if (!api) return failure('WEBAPI_INACTIVE', { api: String(row.api) });
      const strategy = redirectStrategy(STRATEGIES.get(api.authType));
      if (!strategy?.refresh || !secrets.REFRESH_TOKEN) {
        await applyEvent(trx, accountId, 'refresh_rejected', { contactId: null, reason: safe`the token expired and there is no refresh token` });
        return failure('REFRESH_REJECTED', { id: accountId, reason: safe`no refresh token` });
      }
      try {
        const fresh = await strategy.refresh(api, http, secrets.REFRESH_TOKEN);
        // Access and (rotated) refresh token are written in one UPDATE, under the lock.
        await trx('webaccount').update(tokenColumns(fresh)).where('id', accountId);
        return { accessToken: fresh.accessToken, tokenSecret: null };
      } catch (e) {
        if (!(e instanceof ProviderError)) throw e;
        if (!e.isGrantRejected) return providerFailure(e, api.name);
        await applyEvent(trx, accountId, 'refresh_rejected', { contactId: null, reason: e.reason });
        return failure('REFRESH_REJECTED', { id: accountId, reason: e.error });
      }
    });
  }

  return { authorize, start, finish, revokeAtProvider, credentials };
}
