/**
 * @module plugins/bayard/service
 * How the plugin talks to the service: URLs `<BASE_URL>/<module>/<method>/<url_key>/<arguments…>`, every
 * segment URL-encoded (the service decodes each one with PHP's urldecode, where a raw '+' is a space), the
 * url_key from the account's TOKEN; answers read as XML; the service's failures (Zend faults, PHP error
 * pages) turned into clear messages that never carry the url_key.
 */
import { ParamError, type ServiceContext, type ServiceFailure, type ServiceResponse } from '../../src/sdk/index.js';
import { faultOf, readAnswer, redact, type Result } from './xml.js';

/** A path argument: the CALL parameter it comes from (to name it in an error) and its value, or a list of values. */
export type Arg = readonly [param: string, value: string | readonly string[]];

// The EAV keys the spec shows (POSTAL_CITY, CRX__PSEUDO). Anything else is refused here: the service writes
// field names as XML element names (a space crashes it with HTTP 500) and PHP turns '.' in POST names into '_'.
const FIELD_NAME = /^[A-Za-z0-9_]{1,64}$/;
const FIELD_NAME_RULE = 'field names of letters, digits and underscores (NS__FIELD for a namespace)';

/**
 * Encodes one path segment; a list is its items encoded and joined by literal commas, as the spec writes them.
 * "." and ".." cannot be sent: URLs resolve them as steps up the path.
 */
export function segment([param, value]: Arg): string {
  if (typeof value !== 'string') return value.map((v) => encodeURIComponent(v)).join(',');
  if (value === '.' || value === '..') throw new ParamError(param, 'something else than "." or ".."');
  return encodeURIComponent(value);
}

/** GETFIELDS' and CHILDACCOUNTS' FIELDS, checked before they go in the URL. */
export function fieldList(names: readonly string[]): readonly string[] {
  const bad = names.find((n) => !FIELD_NAME.test(n));
  if (bad !== undefined) throw new ParamError('FIELDS', `${FIELD_NAME_RULE}, not "${bad.slice(0, 40)}"`);
  if (!names.length) throw new ParamError('FIELDS', 'at least one field name');
  return names;
}

/** SETFIELDS' and CREATEACCOUNT's FIELDS, checked before they are POSTed. */
export function fieldMap(fields: Readonly<Record<string, string>>): Record<string, string> {
  const bad = Object.keys(fields).find((n) => !FIELD_NAME.test(n));
  if (bad !== undefined) throw new ParamError(`FIELDS/${bad}`, FIELD_NAME_RULE);
  return { ...fields };
}

export interface Ask {
  readonly module: 'user' | 'advantage' | 'access';
  readonly method: string;
  readonly args: readonly Arg[];
  /** POSTed form-encoded (UTF-8); without it the request is a GET. */
  readonly form?: Readonly<Record<string, string>>;
  /** Where key_N items go in the result. */
  readonly items?: string;
}

/** Sends one request and reads its answer into a result. */
export async function ask({ request, credentials }: Pick<ServiceContext, 'request' | 'credentials'>, a: Ask): Promise<Result> {
  const segments = a.args.map(segment);
  const url = ['', a.module, a.method, encodeURIComponent(credentials.token ?? ''), ...segments].join('/');
  const res = await request(a.form ? { method: 'POST', url, form: a.form } : { url });
  return readAnswer(res.xml(), a.items);
}

const ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#039': "'" };
/** The text of a piece of PHP's HTML output: tags dropped, the entities PHP's htmlspecialchars writes decoded. */
// `<[^<>]*>`, not `<[^>]*>`: a run of `<` without `>` would make the latter rescan the rest of the text from each one.
const htmlText = (html: string) => html.replace(/<[^<>]*>/g, '').replace(/&(amp|lt|gt|quot|#0?39);/g, (_m, e: string) => ENTITIES[e]!);

/** PHP's page reads `<b>Fatal error</b>:  message in <b>/file.php</b>` (or the same without tags); the page is read
 * only so far, and the message is what comes before the first `<` (or `/`), which must end in " in ". Patterns
 * with one quantifier ending at a character it excludes, so each scans a character at most once (no backtracking
 * through `\s*…\s+`, which was quadratic on a long run of spaces). */
const FATAL = [/<b>Fatal error<\/b>:([^<]*)<b>/, /Fatal error:([^/]*)\//] as const;
const FATAL_PAGE_CHARS = 65_536;
function fatalError(text: string): string | undefined {
  const page = text.slice(0, FATAL_PAGE_CHARS);
  for (const pattern of FATAL) {
    const found = pattern.exec(page)?.[1]?.trimEnd();
    if (found !== undefined && /\sin$/.test(found)) return found.slice(0, -2).trim();
  }
  return undefined;
}

/**
 * The service's refusals, for nori's SERVICE_ERROR (4xx) and SERVICE_FAILED (5xx): a Zend fault (HTTP 400, or 404
 * for an unknown method) names its error in XML; a crash is PHP's HTML error page ("plantage"); an unknown URL is
 * the framework's 404 page, which echoes the path, url_key included, so nothing of it is passed on.
 */
export function serviceError(res: ServiceResponse): ServiceFailure | undefined {
  const type = res.headers['content-type'] ?? '';
  if (/xml/i.test(type)) {
    try {
      return faultOf(res.xml());
    } catch {
      return undefined; // not XML after all: nori says the status alone
    }
  }
  const fatal = fatalError(res.text());
  if (fatal !== undefined) return { error: 'PHP_FATAL_ERROR', message: redact(htmlText(fatal)).slice(0, 300) };
  if (res.status === 404) return { error: 'PAGE_NOT_FOUND', message: 'the service has no page at this URL (check that BASE_URL ends with /api)' };
  return undefined;
}

// An address no account can have (.invalid is reserved, RFC 2606): looking it up answers RESPONSE_FAILURE with a
// good key and the ERROR_URL_KEY fault with an unknown one. The spec has no key-check method.
const PROBE = 'nori-key-check@bayard.invalid';

/** AUTHORIZE: the salt must be there (LOGIN needs it), and the service must know the url_key. */
export async function checkKey({ request, credentials }: Pick<ServiceContext, 'request' | 'credentials'>): Promise<true | string> {
  if ([...(credentials.tokenSecret ?? '')].length !== 32) return 'the WEBACCOUNT\'s TOKEN_SECRET must be the partner\'s 32-character salt';
  const key = credentials.token ?? '';
  if (key === '.' || key === '..') return 'this is not a url_key';
  const res = await request({ url: `/user/lookup/${encodeURIComponent(key)}/${encodeURIComponent(PROBE)}`, accept: [400] });
  const root = res.xml();
  const fault = faultOf(root);
  if (fault !== undefined) return fault.message ? `${fault.error}: ${fault.message}` : fault.error;
  readAnswer(root); // a well-formed answer, whatever it says about the address: the key was accepted
  return true;
}
