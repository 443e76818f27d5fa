/**
 * @module call/request
 * The `request` a plugin method calls: builds the HTTP request, signs it with the account's credentials
 * (OAuth 1.0a HMAC-SHA1 or a bearer token), and sends it through the keep-alive client, with a deadline per
 * attempt. 429 is retried after Retry-After; timeouts, connection failures and 5xx only when the request is
 * idempotent; all within a bounded number of attempts and a total time budget. A 401 refreshes the token
 * once (single-flight across processes); a second 401 sends the account back to `waiting`.
 */
import { authorizationHeader } from '../auth/oauth1-client.js';
import { failure, type Failure, type MessageCode, type Params, type ParamsFor } from '../errors.js';
import type { Attributes } from '../outcome.js';
import { clip, safe, scrubberFor, type LogFor, type Scrubbed, type Scrubber } from '../scrub.js';
import type { ApiSettings } from '../plugins/apis.js';
import type { ServiceContext, ServiceFailure, ServiceRequest, ServiceResponse } from '../sdk/types.js';
import { isBadResponse } from '../sdk/define.js';
import { parseServiceXml } from '../sdk/xml.js';
import { HttpFailure, type HttpClient, type IncomingHttp } from './http-client.js';

export interface CallConfig {
  /** Deadline of one attempt, in ms. */
  readonly timeoutMs: number;
  /** Most attempts of one request (the first included). */
  readonly maxAttempts: number;
  /** Total time one request may take, waits between attempts included, in ms. */
  readonly budgetMs: number;
  /** Largest answer read from a service, in bytes. */
  readonly maxResponseBytes: number;
  /** Refuse services at private or local addresses (NORI_BLOCK_PRIVATE_TARGETS). */
  readonly blockPrivateTargets?: boolean;
}

/** A CALL that cannot go on: its failure, and attributes for the MESSAGE. */
export class CallFailure extends Error {
  override name = 'CallFailure';
  constructor(readonly failure: Failure, readonly attributes: Attributes = {}) {
    super(failure.code);
  }
}

export interface Credentials {
  readonly token: string | null;
  readonly tokenSecret: string | null;
}

export interface RequestDeps {
  readonly http: HttpClient;
  readonly config: CallConfig;
  /** Log lines go through the context's scrubber. */
  readonly logs: LogFor;
  /** A fresh token after the service refused `rejected` (single-flight across processes). */
  refresh(rejected: string): Promise<Credentials | Failure>;
  /** The service refused the account's credentials for good: the account needs AUTHORIZE again. */
  reject(reason: Scrubbed): Promise<void>;
}

export interface ContextInput {
  readonly api: ApiSettings;
  readonly account: { readonly id: number; readonly login: string | null };
  readonly credentials: Credentials;
  /** The method's name, for messages and logs (`key check` for AUTHORIZE). */
  readonly label: string;
  readonly idempotent: boolean;
  /** Values of the method's `secret` parameters (a password): scrubbed from the service's text like the tokens. */
  readonly secrets?: readonly string[];
}

/** What a context gathered besides results: warnings and notes, for the answer. */
export interface Gathered {
  readonly warnings: { code: Scrubbed; message: Scrubbed }[];
  readonly notes: Record<string, Scrubbed>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const NOTE_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;

/** Seconds or an HTTP date (RFC 9110 §10.2.3), or a reset time in epoch seconds as X and GitHub send. */
function retryAfterMs(h: Readonly<Record<string, string>>): number | undefined {
  const ra = h['retry-after'];
  if (ra !== undefined) {
    if (/^\d+$/.test(ra.trim())) return Number(ra) * 1000;
    const at = Date.parse(ra);
    if (Number.isFinite(at)) return Math.max(0, at - Date.now());
  }
  const reset = h['x-rate-limit-reset'] ?? h['x-ratelimit-reset'];
  if (reset !== undefined && /^\d{9,}$/.test(reset.trim())) return Math.max(0, Number(reset) * 1000 - Date.now());
  return undefined;
}

/** Exponential backoff with a little jitter: 250 ms, 500 ms, 1 s… at most 8 s. */
const backoffMs = (attempt: number) => Math.min(8000, 250 * 2 ** (attempt - 1)) * (1 + Math.random() * 0.2);

function defaultServiceError(res: ServiceResponse): ServiceFailure | undefined {
  const b = res.jsonObject();
  if (b === undefined) return undefined;
  const str = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : undefined);
  const nested = typeof b.error === 'object' && b.error !== null ? (b.error as Record<string, unknown>) : undefined;
  const first = Array.isArray(b.errors) ? (b.errors[0] as Record<string, unknown> | undefined) : undefined;
  const error = str(b.error) ?? str(b.error_summary) ?? str(nested?.code) ?? str(nested?.['.tag']) ?? str(b.code) ?? str(b.title) ?? str(b.serviceErrorCode);
  const message = str(b.error_description) ?? str(nested?.message) ?? str(b.message) ?? str(b.detail) ?? str(first?.message);
  return error !== undefined || message !== undefined ? { error: error ?? 'error', message, data: str(nested?.data) } : undefined;
}

/** A parsed body, or why there is none: parsed once, whoever asks (inspect, serviceError, the method). */
type Parsed = { value: unknown } | { error: true };

/** `fail` takes the service's words too (an XML parser's reason quotes the body): its caller scrubs them. */
function toResponse(r: IncomingHttp, fail: (reason: string) => never): ServiceResponse {
  let text: string | undefined;
  let parsed: Parsed | undefined;
  const decoded = () => (text ??= r.body.toString('utf8'));
  const parse = (): Parsed => {
    if (parsed === undefined) {
      try {
        parsed = { value: JSON.parse(decoded()) as unknown };
      } catch {
        parsed = { error: true };
      }
    }
    return parsed;
  };
  return {
    status: r.status,
    headers: r.headers,
    body: r.body,
    text: decoded,
    json<T>() {
      const p = parse();
      return 'value' in p ? (p.value as T) : fail(safe`the body is not JSON`);
    },
    jsonObject() {
      const p = parse();
      return 'value' in p && typeof p.value === 'object' && p.value !== null && !Array.isArray(p.value) ? (p.value as Record<string, unknown>) : undefined;
    },
    xml() {
      try {
        return parseServiceXml(r.body);
      } catch (e) {
        if (isBadResponse(e)) return fail(e.reason);
        throw e;
      }
    },
  };
}

/** A plugin's reading of a failed answer, scrubbed: what reaches the MESSAGE's attributes and sentence. */
interface ScrubbedFailure {
  readonly error: Scrubbed;
  readonly message: Scrubbed | undefined;
  readonly data: Scrubbed | undefined;
  readonly rejectsCredentials: boolean;
}

const scrubFailure = (f: ServiceFailure | undefined, s: Scrubber): ScrubbedFailure | undefined =>
  f && { error: s.scrub(String(f.error)), message: f.message !== undefined ? s.scrub(String(f.message)) : undefined, data: f.data !== undefined ? s.scrub(String(f.data)) : undefined, rejectsCredentials: f.rejectsCredentials === true };

/**
 * The context a plugin method (or a key check) runs with, what it gathered, and its scrubber: the account's
 * tokens, the WEBAPI's client secret and the method's secret parameters, and a refreshed token once there is
 * one. Everything of the service's that nori keeps (its error, message and data, the plugin's warnings, notes
 * and log lines) goes through it; so does what the caller of failureOf keeps (call/service.ts).
 */
export function createServiceContext(deps: RequestDeps, input: ContextInput, hooks: { serviceError?: (r: ServiceResponse) => ServiceFailure | undefined; inspect?: (r: ServiceResponse, c: Pick<ServiceContext, 'warn' | 'note'>) => void }): { context: ServiceContext; gathered: Gathered; scrubber: Scrubber } {
  const { api, account, label } = input;
  const gathered: Gathered = { warnings: [], notes: {} };
  let credentials = input.credentials;
  let secrets = scrubberFor({ values: [credentials.token, credentials.tokenSecret, api.clientSecret, ...(input.secrets ?? [])] });
  // The scrubber in force now: a refresh adds the new token to it.
  const scrubber: Scrubber = { scrub: (t) => secrets.scrub(t), scrubValue: (v) => secrets.scrubValue(v), with: (m) => secrets.with(m) };
  const log = deps.logs(scrubber, { api: api.name, account: account.id, method: label });
  const params = (extra: Params): Params => ({ api: api.name, method: label, ...extra });
  const fail = <C extends MessageCode>(code: C, extra: ParamsFor<C>, attributes: Attributes = {}): never => {
    throw new CallFailure(failure(code, params(extra) as ParamsFor<C>), { ...gathered.notes, ...attributes });
  };
  const warn = (code: string, message: string) => {
    const said = clip(scrubber.scrub(String(message)));
    gathered.warnings.push({ code: clip(scrubber.scrub(String(code)), 64), message: said });
    log.warn({ code }, said);
  };
  const note = (name: string, value: string) => {
    if (NOTE_NAME.test(name)) gathered.notes[name] = clip(scrubber.scrub(String(value)), 200);
  };

  // A loop, not /\/+$/: that pattern retries from every slash of a run that does not end the text (quadratic).
  function trimEndSlashes(s: string): string {
    let end = s.length;
    while (end > 0 && s.charCodeAt(end - 1) === 0x2f) end--;
    return s.slice(0, end);
  }

  function build(req: ServiceRequest): { method: string; url: string; headers: Record<string, string>; body?: Buffer | string } {
    const method = req.method ?? 'GET';
    const base = req.base !== undefined ? api.settings[req.base] : api.baseUrl;
    if (!/^https?:\/\//.test(req.url) && !base) fail('SERVICE_UNREACHABLE', { reason: `no ${req.base ?? 'BASE_URL'} is set`, attempts: 0 });
    const url = new URL(/^https?:\/\//.test(req.url) ? req.url : `${trimEndSlashes(base!)}/${req.url.replace(/^\/+/, '')}`);
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.append(k, String(v));
    const headers: Record<string, string> = { 'user-agent': 'nori', accept: 'application/json, application/xml;q=0.9, */*;q=0.8' };
    let body: Buffer | string | undefined;
    if (req.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(req.json);
    } else if (req.form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(req.form as Record<string, string>).toString();
    } else if (req.body !== undefined) body = typeof req.body === 'string' ? req.body : Buffer.from(req.body);
    for (const [k, v] of Object.entries(req.headers ?? {})) headers[k.toLowerCase()] = v;
    const auth = req.auth ?? (api.authType === 'oauth1' ? 'oauth1' : api.authType === 'oauth2' ? 'bearer' : 'none');
    if (auth === 'bearer') headers.authorization = `Bearer ${credentials.token ?? ''}`;
    if (auth === 'oauth1') {
      headers.authorization = authorizationHeader(
        { consumerKey: api.clientId ?? '', consumerSecret: api.clientSecret ?? '' },
        { method, url: url.toString(), ...(req.form ? { form: req.form } : {}) },
        { key: credentials.token ?? '', secret: credentials.tokenSecret ?? '' },
      );
    }
    return { method, url: url.toString(), headers, ...(body !== undefined ? { body } : {}) };
  }

  async function request(req: ServiceRequest): Promise<ServiceResponse> {
    const idempotent = req.idempotent ?? input.idempotent;
    const auth = req.auth ?? (api.authType === 'oauth1' ? 'oauth1' : api.authType === 'oauth2' ? 'bearer' : 'none');
    const { timeoutMs, maxAttempts, budgetMs } = deps.config;
    const deadline = Date.now() + budgetMs;
    let refreshed = false;
    for (let attempt = 1; ; attempt++) {
      const outgoing = build(req);
      const started = Date.now();
      let raw: IncomingHttp;
      try {
        raw = await deps.http.send(outgoing, Math.min(timeoutMs, Math.max(1, deadline - started)));
      } catch (e) {
        if (!(e instanceof HttpFailure)) throw e;
        log.info({ attempt, ms: Date.now() - started, failure: e.kind }, 'service request failed');
        const wait = backoffMs(attempt);
        if (e.kind === 'blocked') return fail('TARGET_BLOCKED', { reason: e.reason });
        if (e.kind !== 'too_large' && idempotent && attempt < maxAttempts && Date.now() + wait < deadline) {
          await sleep(wait);
          continue;
        }
        if (e.kind === 'timeout') return fail('SERVICE_TIMEOUT', { ms: timeoutMs, attempts: attempt });
        if (e.kind === 'too_large') return fail('SERVICE_BAD_RESPONSE', { reason: e.reason });
        return fail('SERVICE_UNREACHABLE', { reason: e.reason, attempts: attempt });
      }
      log.info({ attempt, ms: Date.now() - started, status: raw.status }, 'service request');
      const res = toResponse(raw, (reason) => fail('SERVICE_BAD_RESPONSE', { reason: clip(scrubber.scrub(reason), 200) }));
      hooks.inspect?.(res, { warn, note });
      if ((res.status >= 200 && res.status < 300) || req.accept?.includes(res.status)) return res;

      if (res.status === 401 && auth !== 'none') {
        if (auth === 'bearer' && api.authType === 'oauth2' && !refreshed && credentials.token) {
          refreshed = true;
          const fresh = await deps.refresh(credentials.token);
          if ('code' in fresh) throw new CallFailure(fresh, gathered.notes);
          credentials = fresh;
          secrets = secrets.with({ values: [fresh.token, fresh.tokenSecret] });
          attempt -= 1; // the refreshed retry is not one of the bounded attempts
          continue;
        }
        await deps.reject(safe`the service refused the credentials (HTTP 401)${refreshed ? safe` even after a refresh` : safe``}`);
        return fail('SERVICE_UNAUTHORIZED', { id: account.id, status: 401, after: refreshed ? ' even after a refresh' : '' }, { serviceStatus: safe`401` });
      }
      const retriable = res.status === 429 || (res.status >= 500 && idempotent);
      if (retriable) {
        const wait = retryAfterMs(res.headers) ?? backoffMs(attempt);
        if (attempt < maxAttempts && Date.now() + wait < deadline) {
          await sleep(wait);
          continue;
        }
        if (res.status === 429) {
          const ra = retryAfterMs(res.headers);
          return fail('SERVICE_RATE_LIMITED', { retry: ra !== undefined ? ` for ${Math.ceil(ra / 1000)} more seconds` : '' }, { serviceStatus: safe`429`, ...(ra !== undefined ? { retryAfter: safe`${Math.ceil(ra / 1000)}` } : {}) });
        }
      }
      // Scrubbed before anything is cut or kept: a provider may echo the request, its token included.
      const service = scrubFailure(hooks.serviceError?.(res) ?? defaultServiceError(res), scrubber);
      const attributes: Record<string, Scrubbed> = { serviceStatus: safe`${res.status}` };
      if (service) {
        attributes.serviceError = clip(service.error, 200);
        if (service.message) attributes.serviceMessage = clip(service.message);
        if (service.data) attributes.serviceData = clip(service.data, 1000);
      }
      if (service?.rejectsCredentials) {
        // The plugin knows this answer means the account's key or token is dead (Bayard's ERROR_URL_KEY is a 400).
        await deps.reject(safe`the service refused the credentials (HTTP ${res.status}: ${clip(service.error, 100)})`);
        return fail('SERVICE_UNAUTHORIZED', { id: account.id, status: res.status, after: '' }, attributes);
      }
      if (res.status >= 500) return fail('SERVICE_FAILED', { status: res.status, attempts: attempt }, attributes);
      return fail('SERVICE_ERROR', { status: res.status, error: clip(service?.error ?? safe`no error code`, 200), detail: service?.message ? safe` (${clip(service.message)})` : safe`` }, attributes);
    }
  }

  return {
    context: { account, api: { name: api.name, authType: api.authType, baseUrl: api.baseUrl ?? '', settings: api.settings }, credentials: input.credentials, request, warn, note, log: { info: (f, m) => log.info(f, m), warn: (f, m) => log.warn(f, m) } },
    gathered,
    scrubber,
  };
}
