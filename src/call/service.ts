/**
 * @module call/service
 * CALL: runs a plugin method for each account of the command, with the account's stored credentials. Runs
 * outside any database transaction: a service's effects cannot be rolled back, and a slow service must not
 * hold a transaction open. Every failure, whatever its cause, becomes the account's MESSAGE.
 */
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { WEBACCOUNT } from '../../schemas/index.js';
import { newStartLink, newState } from '../auth/pending-flows.js';
import { isAllowedReturnUrl } from '../auth/return-urls.js';
import { TOKEN_COLUMNS, type AuthConfig, type AuthService, type KeyChecker, type PluginRevoker, type StoredToken } from '../auth/service.js';
import type { AuthState } from '../auth/state-machine.js';
import { applyEvent, isTransition } from '../auth/transitions.js';
import type { CallCommand, ReplayCommand } from '../commands.js';
import { failure, NoriError, type Failure } from '../errors.js';
import { failed, type Attributes, type CallAnswer, type Outcome } from '../outcome.js';
import { clip, ours, safe, type LogFor, type Scrubbed, type Scrubber } from '../scrub.js';
import type { ApiLoader, ApiSettings } from '../plugins/apis.js';
import { canRead, type Principal } from '../principal.js';
import { isBadResponse, isConsentRequired, isParamError, isServiceError, type ConsentRequired } from '../sdk/define.js';
import type { ResultValue } from '../sdk/types.js';
import { readSecrets, selectByIds, selectByIdsWith, type Row } from '../store/elements.js';
import type { Keyring } from '../store/secrets.js';
import { collect, keepCall, keepResult, keptCall, newCallId, type KeptCall } from './consents.js';
import type { HttpClient } from './http-client.js';
import { checkParams } from './params.js';
import { deletedProblem } from '../verbs/context.js';
import { CallFailure, createServiceContext, type CallConfig, type Gathered, type RequestDeps } from './request.js';

/** What running a kept CALL at a consent page's callback says the user chose. */
export type ConsentOutcome = { kind: 'granted' } | { kind: 'refused'; reason: Scrubbed } | { kind: 'unavailable'; reason: Scrubbed };

/** The time a request may still spend: its end (epoch ms), and the whole budget (for the MESSAGE). */
export interface TimeBudget {
  readonly deadline: number;
  readonly limitMs: number;
}

export interface CallService {
  /** `time`: the request's time budget, which the service requests of this CALL share. */
  call(principal: Principal, command: CallCommand | ReplayCommand, time?: TimeBudget): Promise<Outcome>;
  /** The callback of a consent page (auth/service.ts): runs the kept CALL again and keeps its result. */
  resumeConsent(flow: { id: number; accountId: number }): Promise<ConsentOutcome>;
  /** AUTHORIZE of an apikey WEBAPI: the plugin's checkKey, with the same client, deadlines and retries. */
  checkKey: KeyChecker;
  /** The plugin's own revocation (hooks.revoke): true, or why it failed. */
  revokeWithPlugin: PluginRevoker;
}

export interface CallDeps {
  readonly knex: Knex;
  readonly keyring: Keyring;
  /** The public URL (callback), the return-URL allowlist and how long a kept CALL waits. */
  readonly authConfig: Pick<AuthConfig, 'publicUrl' | 'returnUrls' | 'flowTtlSeconds'>;
  /** Log lines only through a scrubber: a plugin's and a service's text may carry what nori sent. */
  readonly logs: LogFor;
  readonly auth: AuthService;
  readonly loadApi: ApiLoader;
  readonly http: HttpClient;
  readonly config: CallConfig;
}

/** What stops a CALL before it reaches the service, per state. */
const STATE_FAILURES: Readonly<Record<Exclude<AuthState, 'authorized'>, Failure['code']>> = {
  waiting: 'NOT_AUTHORIZED',
  requested: 'NOT_AUTHORIZED',
  disabled: 'ACCOUNT_DISABLED',
  revoked: 'ACCOUNT_REVOKED',
};

/** Owners and admins may CALL an account, and everyone when its PUBLIC is W; group members only read it. */
const canCall = (p: Principal, row: Row) => p.admin || row.OWNERID === p.contactId || row.PUBLIC === 'W';

/** How many accounts of one ID list are called at once. */
const PARALLEL = 4;

export function createCallService(deps: CallDeps): CallService {
  const { knex, logs, auth, loadApi } = deps;
  /** A method or message code nori validated, in a stored reason. */
  const named = (name: string): Scrubbed => ours(name);
  const callbackBase = `${deps.authConfig.publicUrl.replace(/\/$/, '')}/oauth/callback`;

  const requestDeps = (accountId: number, deadline?: number): RequestDeps => ({
    http: deps.http,
    // A CALL of a batch spends the batch's time too: its requests' budget ends with the request's.
    config: deadline === undefined ? deps.config : { ...deps.config, budgetMs: Math.max(1, Math.min(deps.config.budgetMs, deadline - Date.now())) },
    logs,
    async refresh(rejected) {
      const c = await auth.credentials(accountId, { rejected });
      return 'code' in c ? c : { token: c.accessToken, tokenSecret: c.tokenSecret };
    },
    async reject(reason) {
      await knex.transaction((trx) => applyEvent(trx, accountId, 'token_rejected', { contactId: null, reason }));
    },
  });

  /**
   * Anything a plugin throws becomes a failure; the unexpected is logged with an incident id, never its detail.
   * What the plugin read from the service (a ServiceError's error, message and data, a BadResponse's reason)
   * is scrubbed with the context's scrubber before it is cut and kept.
   */
  function failureOf(e: unknown, api: ApiSettings, method: string, gathered: Gathered, scrubber: Scrubber): { failure: Failure; attributes: Attributes } {
    if (e instanceof CallFailure) return { failure: e.failure, attributes: { ...e.attributes } };
    if (e instanceof NoriError) return { failure: e.failure, attributes: gathered.notes };
    if (isBadResponse(e)) return { failure: failure('SERVICE_BAD_RESPONSE', { api: api.name, method, reason: clip(scrubber.scrub(String(e.reason)), 200) }), attributes: gathered.notes };
    if (isParamError(e)) return { failure: failure('PARAM_INVALID', { method, param: e.param, expected: e.expected, got: '' }), attributes: gathered.notes };
    if (isServiceError(e)) {
      const error = clip(scrubber.scrub(String(e.failure.error)), 200);
      const message = e.failure.message ? clip(scrubber.scrub(String(e.failure.message))) : undefined;
      const attributes: Record<string, Scrubbed> = { ...gathered.notes, serviceError: error };
      if (e.status !== undefined) attributes.serviceStatus = safe`${Number(e.status)}`;
      if (message) attributes.serviceMessage = message;
      if (e.failure.data) attributes.serviceData = clip(scrubber.scrub(String(e.failure.data)), 1000);
      return { failure: failure('SERVICE_ERROR', { api: api.name, method, status: e.status ?? 200, error, detail: message ? safe` (${message})` : safe`` }), attributes };
    }
    const incident = randomBytes(4).toString('hex');
    logs(scrubber).error({ incident, api: api.name, method, err: { name: (e as Error)?.name } }, 'plugin method failed unexpectedly');
    return { failure: failure('INTERNAL_ERROR', { incident }), attributes: gathered.notes };
  }

  async function callOne(row: Row, stored: StoredToken, command: CallCommand, principal: Principal, deadline: number | undefined): Promise<CallAnswer> {
    const id = row.ID as number;
    const method = command.method;
    const refuse = (f: Failure, attributes: Attributes = {}): CallAnswer => ({ accountId: id, method, result: { failure: f }, attributes, warnings: [] });
    const api = await loadApi(knex, row.API as string);
    if (!api) return refuse(failure('WEBAPI_INACTIVE', { api: String(row.API) }));
    const plugin = api.plugin;
    if (!plugin) return refuse(failure('PLUGIN_MISSING', { api: api.name, named: api.missingPlugin ? ` (its PLUGIN "${api.missingPlugin}" is not loaded)` : '' }));
    const def = Object.hasOwn(plugin.definition.methods, method) ? plugin.definition.methods[method] : undefined;
    if (!def) return refuse(failure('METHOD_UNKNOWN', { api: api.name, method, methods: Object.keys(plugin.definition.methods).join(', ') || 'none' }, command.methodAt));
    const checked = checkParams(method, def, command.node);
    if ('failure' in checked) return refuse(checked.failure);
    const params = checked.params;
    const state = row.AUTHORIZATION_STATE as AuthState;
    if (state !== 'authorized') return refuse(failure(STATE_FAILURES[state], { id, state, api: api.name }));
    if (command.returnUrl !== undefined && !isAllowedReturnUrl(command.returnUrl, deps.authConfig.returnUrls)) return refuse(failure('RETURN_URL_NOT_ALLOWED', {}));
    // Refreshed first when stale; a disabled or revoked account never gets here, so never reaches the service.
    const creds = await auth.credentials(id, { stored });
    if ('code' in creds) return refuse(creds);
    const account = { id, login: (row.LOGIN as string | null) ?? null };
    const ran = await runMethod(api, account, { token: creds.accessToken, tokenSecret: creds.tokenSecret }, method, params, requestDeps(id, deadline));
    if (!ran.consent) return ran.answer;
    return askConsent(ran.answer, ran.consent, ran.scrubber, api, principal, { method, node: command.node }, command.returnUrl);
  }

  /** Runs one method of the WEBAPI's plugin; a consent page the service asks for comes back beside the answer. */
  async function runMethod(api: ApiSettings, account: { id: number; login: string | null }, credentials: { token: string | null; tokenSecret: string | null }, method: string, params: Record<string, unknown>, rd: RequestDeps): Promise<{ answer: CallAnswer; scrubber: Scrubber; consent?: ConsentRequired }> {
    const plugin = api.plugin!;
    const def = plugin.definition.methods[method]!;
    // A password parameter is sent to the service: its echo is scrubbed like the tokens.
    const secrets = Object.entries(def.params).filter(([name, p]) => p.secret && typeof params[name] === 'string').map(([name]) => params[name] as string);
    const { context, gathered, scrubber } = createServiceContext(rd, { api, account, credentials, label: method, idempotent: def.idempotent ?? false, secrets }, plugin.hooks);
    const implementation = (plugin.implementation as Record<string, (c: unknown) => Promise<ResultValue>>)[method]!;
    try {
      // The result is the service's text too: the caller may be a stranger to the account (PUBLIC W), and a
      // service that echoes its request (headers, body) would hand them the owner's token.
      const value = scrubber.scrubValue(await implementation({ ...context, method, params }));
      return { answer: { accountId: account.id, method, result: { value }, attributes: gathered.notes, warnings: gathered.warnings }, scrubber };
    } catch (e) {
      const { failure: f, attributes } = failureOf(e, api, method, gathered, scrubber);
      return { answer: { accountId: account.id, method, result: { failure: f }, attributes, warnings: gathered.warnings }, scrubber, ...(isConsentRequired(e) ? { consent: e } : {}) };
    }
  }

  /**
   * The service wants the user's consent: keep the CALL (the callback runs it again), move the account to
   * `requested`, and answer CONSENT_REQUIRED with nori's start link, which leads to the service's page with
   * nori's callback appended to it.
   */
  async function askConsent(answer: CallAnswer, consent: ConsentRequired, scrubber: Scrubber, api: ApiSettings, principal: Principal, call: KeptCall, returnUrl: string | undefined): Promise<CallAnswer> {
    const id = answer.accountId;
    const state = newState();
    const start = newStartLink(deps.authConfig.publicUrl);
    const callId = newCallId();
    const ttl = deps.authConfig.flowTtlSeconds;
    // The service's URL is kept exactly as sent (Orange's `familly`, its raw commas); only nori's return is added.
    const back = `${callbackBase}?state=${state}`;
    // The page is the service's text: scrubbed (it never needs a secret of nori's; the browser is no party to them).
    const consentUrl = scrubber.scrub(`${consent.url}${consent.url.includes('?') ? '&' : '?'}${consent.returnParam}=${encodeURIComponent(back)}`);
    const moved = await knex.transaction(async (trx) => {
      const t = await applyEvent(trx, id, 'consent_required', { contactId: principal.contactId, reason: safe`the service asked the user's consent for ${named(call.method)}` });
      if (isTransition(t)) await keepCall(trx, deps.keyring, { state, start, consentUrl, callId, accountId: id, contactId: principal.contactId, call, returnUrl, ttlSeconds: ttl });
      return t;
    });
    if (!isTransition(moved)) return { ...answer, result: { failure: moved } };
    // The browser goes to nori's start link, which binds the flow to it and sends it on to the consent page.
    return { ...answer, result: { failure: failure('CONSENT_REQUIRED', { api: api.name, method: call.method, id, call: callId, minutes: Math.round(ttl / 60) }) }, attributes: { ...answer.attributes, url: ours(start.url) /* nori's own link */, call: ours(callId) /* nori's random id */ } };
  }

  /** The callback of a consent page: run the kept CALL again; its answer says what the user chose. */
  async function resumeConsent(flow: { id: number; accountId: number }): Promise<ConsentOutcome> {
    const row = (await selectByIds(knex, WEBACCOUNT, [flow.accountId]))[0];
    const api = row && (await loadApi(knex, row.API as string));
    if (!row || !api?.plugin) return { kind: 'unavailable', reason: safe`the WEBAPI or its plugin is gone` };
    const call = await keptCall(knex, deps.keyring, flow.id);
    const def = api.plugin.definition.methods[call.method];
    const checked = def ? checkParams(call.method, def, call.node) : undefined;
    if (!checked || 'failure' in checked) return { kind: 'unavailable', reason: safe`the plugin no longer takes this ${named(call.method)}` };
    const params = checked.params;
    const { TOKEN, TOKEN_SECRET } = await readSecrets(knex, WEBACCOUNT, flow.accountId, deps.keyring);
    // The account is `requested`: nothing to refresh, and the callback moves the state, not this run.
    const rd: RequestDeps = { ...requestDeps(flow.accountId), refresh: async () => failure('CONSENT_REFUSED', { api: api.name, method: call.method, id: flow.accountId }), reject: async () => {} };
    const ran = await runMethod(api, { id: flow.accountId, login: (row.LOGIN as string | null) ?? null }, { token: TOKEN ?? null, tokenSecret: TOKEN_SECRET ?? null }, call.method, params, rd);
    if (ran.consent) {
      const refused: CallAnswer = { ...ran.answer, result: { failure: failure('CONSENT_REFUSED', { api: api.name, method: call.method, id: flow.accountId }) } };
      await keepResult(knex, deps.keyring, flow.id, refused);
      return { kind: 'refused', reason: safe`the user did not consent to ${named(call.method)} at the service` };
    }
    await keepResult(knex, deps.keyring, flow.id, ran.answer);
    if ('failure' in ran.answer.result) return { kind: 'unavailable', reason: safe`${named(call.method)} failed again after consent: ${named(ran.answer.result.failure.code)}` };
    return { kind: 'granted' };
  }

  async function replay(principal: Principal, command: ReplayCommand): Promise<Outcome> {
    const id = command.ids[0]!;
    // A deleted account's kept result waits for its restoration; told only to whoever may read the account.
    const account = (await selectByIds(knex, WEBACCOUNT, [id]))[0];
    if (account && account.ACTIVITY !== 1 && canRead(principal, WEBACCOUNT, account)) return failed(failure('ACCOUNT_DELETED', { id, action: 'collect a kept CALL of' }), String(id));
    const kept = await collect(knex, deps.keyring, { callId: command.replay, accountId: id, principal, ttlSeconds: deps.authConfig.flowTtlSeconds });
    if ('code' in kept) return failed(kept, String(id));
    if ('failure' in kept.result) return failed(kept.result.failure, String(id), kept.attributes);
    return { kind: 'called', answers: [kept] };
  }

  async function call(principal: Principal, command: CallCommand | ReplayCommand, time?: TimeBudget): Promise<Outcome> {
    const deadline = time?.deadline;
    if (command.replay !== undefined) return replay(principal, command);
    const elementID = command.ids.join(',');
    // The accounts and their stored tokens in one query: a fresh token needs no second one.
    const read = await selectByIdsWith(knex, WEBACCOUNT, command.ids, TOKEN_COLUMNS);
    const rows = read.map((r) => r.row);
    const found = new Map(rows.map((r) => [r.ID as number, r]));
    const tokens = new Map(read.map((r) => [r.row.ID as number, r.raw as StoredToken]));
    // As GET: a missing account and a hidden one answer alike, unless the caller is an admin.
    const hidden = command.ids.filter((id) => !found.has(id) || !canRead(principal, WEBACCOUNT, found.get(id)!));
    if (hidden.length && !principal.admin) return failed(failure('NOT_VISIBLE', { element: 'WEBACCOUNT', id: hidden.join(',') }), elementID);
    const missing = command.ids.filter((id) => !found.has(id));
    if (missing.length) return failed(failure('NOT_FOUND', { element: 'WEBACCOUNT', id: missing.join(',') }), elementID);
    const denied = rows.filter((r) => !canCall(principal, r)).map((r) => r.ID);
    if (denied.length) return failed(failure('FORBIDDEN', { element: 'WEBACCOUNT', id: denied.join(','), action: 'call' }), elementID);
    const deleted = deletedProblem(rows, 'call');
    if (deleted) return failed(deleted, elementID);

    const ordered = command.ids.map((id) => found.get(id)!);
    const answers: CallAnswer[] = new Array(ordered.length);
    let next = 0;
    const worker = async () => {
      while (next < ordered.length) {
        const i = next++;
        const row = ordered[i]!;
        // An account not started when the request's time is up is not called at all.
        answers[i] = deadline !== undefined && Date.now() >= deadline
          ? { accountId: row.ID as number, method: command.method, result: { failure: failure('BUDGET_TIME', { limit: time!.limitMs, what: 'was not sent to the service' }) }, attributes: {}, warnings: [] }
          : await callOne(row, tokens.get(row.ID as number)!, command, principal, deadline);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL, ordered.length) }, worker));
    // One account: its failure is the command's MESSAGE, as for every other command.
    const only = answers.length === 1 ? answers[0]! : undefined;
    // Its warnings cannot be elements of a MESSAGE: their codes go in an attribute (the messages are in the log).
    const warned: Attributes = only?.warnings.length ? { warnings: ours([...new Set(only.warnings.map((w) => w.code))].join(' ')) /* scrubbed codes, joined */ } : {};
    if (only && 'failure' in only.result) return failed(only.result.failure, elementID, { ...only.attributes, ...warned });
    return { kind: 'called', answers };
  }

  const checkKey: KeyChecker = async (api, account, credentials) => {
    const check = api.plugin?.hooks.checkKey;
    if (!check) return { failure: failure('PLUGIN_MISSING', { api: api.name, named: api.missingPlugin ? ` (its PLUGIN "${api.missingPlugin}" is not loaded)` : '' }), attributes: {} };
    const keyDeps: RequestDeps = {
      ...requestDeps(account.id),
      // The account is not authorized yet: there is nothing to refresh and no state to fall back from.
      refresh: async () => failure('KEY_REJECTED', { api: api.name, id: account.id, reason: safe`HTTP 401` }),
      reject: async () => {},
    };
    const { context, gathered, scrubber } = createServiceContext(keyDeps, { api, account, credentials, label: 'key check', idempotent: true }, api.plugin!.hooks);
    try {
      // The plugin's reason is what the service said: the key itself may be in it.
      const checked = await check(context);
      return checked === true ? true : scrubber.scrub(String(checked));
    } catch (e) {
      if (isServiceError(e)) return scrubber.scrub(String(e.failure.message ?? e.failure.error));
      if (e instanceof CallFailure && e.failure.code === 'SERVICE_UNAUTHORIZED') return e.attributes.serviceMessage ?? e.attributes.serviceError ?? safe`HTTP 401`;
      // The service's status, error and support ids go with the MESSAGE, as for a CALL.
      return failureOf(e, api, 'key check', gathered, scrubber);
    }
  };

  const revokeWithPlugin: PluginRevoker = async (api, account, credentials, renew) => {
    // Runs inside the revoking command's transaction, which holds the account's row: never the usual refresh (it
    // would wait for that row) nor a state change from here; a 401 may get one token from `renew`, kept nowhere.
    const refused = failure('KEY_REJECTED', { api: api.name, id: account.id, reason: safe`HTTP 401` });
    const refresh = async () => {
      const token = await renew?.();
      return token === undefined ? refused : { token, tokenSecret: null };
    };
    const deps: RequestDeps = { ...requestDeps(account.id), refresh, reject: async () => {} };
    const { context, gathered, scrubber } = createServiceContext(deps, { api, account, credentials, label: 'revocation', idempotent: true }, api.plugin!.hooks);
    try {
      await api.revoke!(context);
      return true;
    } catch (e) {
      const f = failureOf(e, api, 'revocation', gathered, scrubber);
      return safe`${named(f.failure.code)}${f.attributes.serviceError ? safe` (${f.attributes.serviceError})` : safe``}`;
    }
  };

  return { call, checkKey, revokeWithPlugin, resumeConsent };
}
