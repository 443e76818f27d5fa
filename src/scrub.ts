/**
 * @module scrub
 * Provider text with nori's secrets taken out. A provider that echoes its request in its error (headers, body)
 * would otherwise put the owner's token into a stranger's MESSAGE, or the client secret into a stored reason.
 * A {@link Scrubber} is built from the secrets of one exchange (tokens, client secret, PKCE verifier, API key)
 * and removes them in every form they travel in: as they are, percent- and form-encoded, JSON- and XML-escaped,
 * base64, and the HTTP Basic credentials `base64(urlencode(id):urlencode(secret))`.
 *
 * What may reach a MESSAGE attribute, a provider-text parameter of a MESSAGE, a stored reason or a callback
 * page is typed {@link Scrubbed}, which only a scrubber, nori's own text ({@link safe} for constants, {@link ours}
 * for what nori holds) or a cut of either ({@link clip}) produces: raw provider text there does not compile. The services that handle provider
 * text log only through {@link ScrubbedLog}, which scrubs every string of every line.
 */
import type { Logger } from 'pino';

declare const SCRUBBED: unique symbol;
/** Text that holds no secret of nori's: scrubbed provider text, or nori's own. */
export type Scrubbed = string & { readonly [SCRUBBED]: true };

/** What replaces a secret. */
export const REDACTED = '[redacted]';
/**
 * Shorter values are not scrubbed: taking every "abc" out of a message would make it unreadable, and a
 * secret that short is guessed rather than leaked.
 */
export const MIN_SECRET_LENGTH = 6;

/** The secrets of one exchange, as nori sent them. */
export interface Secrets {
  /** Tokens, secrets, verifiers, keys, codes; null and undefined are skipped. */
  readonly values?: readonly (string | null | undefined)[];
  /** HTTP Basic client credentials (RFC 6749 §2.3.1): the header's base64 is scrubbed in every encoding. */
  readonly basic?: { readonly id: string; readonly secret: string } | undefined;
}

export interface Scrubber {
  /** The text with every form of every secret replaced by {@link REDACTED}. */
  scrub(text: string): Scrubbed;
  /** Every string inside a value (a CALL result), keys kept; bytes are the service's data and left as they are. */
  scrubValue<T>(value: T): T;
  /** A scrubber that also takes out `more` (a refreshed token). */
  with(more: Secrets): Scrubber;
}

/**
 * nori's own text: the literal parts are source code, each substitution a number or text already scrubbed.
 * @example
 * const reason = safe`the service refused the key: ${scrubber.scrub(answer)}`;
 */
export function safe(strings: TemplateStringsArray, ...values: readonly (Scrubbed | number)[]): Scrubbed {
  let out = strings[0]!;
  values.forEach((v, i) => (out += String(v) + strings[i + 1]!));
  return out as Scrubbed;
}

/**
 * Text nori made itself from what it holds, not from a provider's answer: a system error code, an address it
 * resolved, a name an administrator set, a method or message code it validated. Each use says which.
 */
export function ours(text: string): Scrubbed {
  return text as Scrubbed;
}

/** At most `n` characters of scrubbed text, `…` marking a cut (a cut of scrubbed text holds no secret either). */
export function clip(text: Scrubbed, n = 300): Scrubbed {
  return (text.length > n ? `${text.slice(0, n)}…` : text) as Scrubbed;
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const unpadded = (s: string) => {
  // A loop, not /=+$/: that pattern rescans every run of '=' that does not end the text.
  let end = s.length;
  while (end > 0 && s[end - 1] === '=') end--;
  return s.slice(0, end);
};
/** RFC 6749 Appendix B, as simple-oauth2 encodes Basic credentials: `!'()*` escaped too, spaces as `+`. */
const strictForm = (s: string) => encodeURIComponent(s).replace(/%20/g, '+').replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const searchParams = (s: string) => new URLSearchParams({ v: s }).toString().slice(2);
const lowerHex = (s: string) => s.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase());
const json = (s: string) => JSON.stringify(s).slice(1, -1);
const jsonAscii = (s: string) => json(s).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

/** The URL encodings a value is sent in (query, form body, Basic credentials), in upper- and lower-case hex. */
function urlForms(s: string): string[] {
  const out = [s, encodeURIComponent(s), strictForm(s), searchParams(s)];
  return [...out, ...out.map(lowerHex)];
}

/** One form as it may come back inside a provider's text: percent-encoded (once or twice), JSON, XML. */
function echoed(form: string): string[] {
  return [...urlForms(form), encodeURIComponent(encodeURIComponent(form)), json(form), json(form).replace(/\//g, '\\/'), jsonAscii(form), xml(form)];
}

function formsOf(secrets: Secrets): string[] {
  const forms = new Set<string>();
  const add = (base: string) => {
    for (const f of echoed(base)) if (f.length >= MIN_SECRET_LENGTH) forms.add(f);
  };
  for (const v of secrets.values ?? []) {
    if (typeof v !== 'string' || v.length < MIN_SECRET_LENGTH) continue;
    for (const base of [v, b64(v), unpadded(b64(v)), Buffer.from(v, 'utf8').toString('base64url')]) add(base);
  }
  const basic = secrets.basic;
  if (basic && basic.secret.length >= MIN_SECRET_LENGTH) {
    for (const id of new Set(urlForms(basic.id))) {
      for (const secret of new Set(urlForms(basic.secret))) {
        const header = b64(`${id}:${secret}`);
        add(header);
        add(unpadded(header));
      }
    }
  }
  // Longest first: a form inside a longer one (a token inside its base64url) never leaves half of the other.
  return [...forms].sort((a, b) => b.length - a.length);
}

function scrubbing(secrets: Secrets): Scrubber {
  const forms = formsOf(secrets);
  // split/join per form: a native search, linear in the text, with no pattern built from secrets.
  const scrub = (text: string): Scrubbed => {
    let out = text;
    for (const f of forms) if (out.includes(f)) out = out.split(f).join(REDACTED);
    return out as Scrubbed;
  };
  const scrubValue = <T>(value: T): T => {
    if (!forms.length) return value;
    const seen = new WeakSet<object>();
    const walk = (v: unknown): unknown => {
      if (typeof v === 'string') return scrub(v);
      if (v === null || typeof v !== 'object' || v instanceof Uint8Array || v instanceof Date) return v;
      // Only an object inside itself is cut: one shared by two branches is walked twice.
      if (seen.has(v)) return '[circular]';
      seen.add(v);
      const out = walkObject(v);
      seen.delete(v);
      return out;
    };
    const walkObject = (v: object): unknown => {
      // An error's name and message are not own enumerable properties: kept, scrubbed, as the log shows them.
      if (v instanceof Error) return { type: v.name, message: scrub(v.message), ...((v as { code?: unknown }).code !== undefined ? { code: walk((v as { code?: unknown }).code) } : {}) };
      if (Array.isArray(v)) return v.map(walk);
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    };
    return walk(value) as T;
  };
  return {
    scrub,
    scrubValue,
    with: (more) => scrubbing({ values: [...(secrets.values ?? []), ...(more.values ?? [])], basic: more.basic ?? secrets.basic }),
  };
}

/** A scrubber for the secrets of one exchange. */
export function scrubberFor(secrets: Secrets): Scrubber {
  return scrubbing(secrets);
}

/** A log line's fields and message, every string scrubbed before pino sees them. */
export interface ScrubbedLog {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/**
 * How a service that handles provider text gets a log: only with the scrubber of the exchange at hand.
 * `bindings` go on every line, scrubbed too.
 */
export type LogFor = (scrubber: Scrubber, bindings?: Record<string, unknown>) => ScrubbedLog;

/** The {@link LogFor} of a pino logger. */
export function scrubbedLogs(logger: Logger): LogFor {
  return (scrubber, bindings) => {
    const to = bindings ? logger.child(scrubber.scrubValue(bindings)) : logger;
    const line = (level: 'info' | 'warn' | 'error') => (fields: Record<string, unknown>, message: string) => to[level](scrubber.scrubValue(fields), scrubber.scrub(message));
    return { info: line('info'), warn: line('warn'), error: line('error') };
  };
}
