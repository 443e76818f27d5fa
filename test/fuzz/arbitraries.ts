/**
 * @module test/fuzz/arbitraries
 * fast-check arbitraries for hostile batches: plausible commands on WEBAPI and WEBACCOUNT (fields taken from
 * the schemas, values plausible or not), random trees, XML oddities (entities, CDATA, comments, processing
 * instructions, BOMs, DOCTYPEs), sizes around every limit, then mutations of the text (truncation, deletion,
 * insertion, duplicate attributes, repetition) and of its bytes (invalid UTF-8, other encodings).
 */
import fc from 'fast-check';
import { WEBACCOUNT, WEBAPI, type ElementDef, type FieldDef } from '../../schemas/index.js';
import { VERBS } from '../../src/commands.js';
import type { XmlLimits } from '../../src/xml/parse.js';

/**
 * Where generated URLs point: nori may fetch `serviceUrl` (the only URL WEBAPI fields are given, as an admin
 * would), never `trapUrl` (only ever sent where a caller's URL goes: RETURN_URL, CALL parameters).
 */
export interface FuzzContext {
  readonly serviceUrl: string;
  readonly trapUrl: string;
  /** The allowlisted return-URL prefix (on the trap: it must never be fetched either). */
  readonly returnPrefix: string;
  readonly limits: XmlLimits;
}

export type Who = 'admin' | 'user';
export type Encoding = 'string' | 'utf8' | 'bom' | 'invalid-utf8' | 'latin1' | 'utf16';
export type Transport = { readonly kind: 'engine' } | { readonly kind: 'http'; readonly path: string; readonly contentType: string };
export interface FuzzCase {
  readonly doc: string;
  readonly encoding: Encoding;
  /** Where invalid bytes go, as a fraction of the document. */
  readonly at: number;
  readonly who: Who;
  readonly transport: Transport;
}

/** A document being built: an element, escaped text, or raw markup inserted as it is. */
export type Piece = { readonly el: string; readonly attrs: readonly (readonly [string, string])[]; readonly kids: readonly Piece[] } | { readonly text: string } | { readonly raw: string };

const el = (name: string, attrs: readonly (readonly [string, string])[] = [], kids: readonly Piece[] = []): Piece => ({ el: name, attrs, kids });
const txt = (text: string): Piece => ({ text });

export function serialize(p: Piece): string {
  if ('text' in p) return p.text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  if ('raw' in p) return p.raw;
  const attrs = p.attrs.map(([n, v]) => ` ${n}="${v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;')}"`).join('');
  return p.kids.length ? `<${p.el}${attrs}>${p.kids.map(serialize).join('')}</${p.el}>` : `<${p.el}${attrs}/>`;
}

/**
 * Starts every value sent in a secret field or parameter (TOKEN, CLIENT_SECRET, PASSWORD…): nori never returns a
 * secret, not even a wrong one it refuses, so no answer may contain it (in any case: a mutation lowers it).
 */
export const SENT_SECRET = 'SENTSECRET';

// Values every field, criterion and parameter may meet.
const SQL_META = ["'; DROP TABLE webaccount; --", '%', '_', '\\', "'", '"', "' OR '1'='1", '$1', '?', '%_%', '\\%', '/* x */', '--'];
const UNICODE = ['é', 'ß', '日本語', '😀', '\u202e', '\u200b', 'Ω≈ç√', '\ufffd', 'ﬁ', 'ǅ'];
const BAD_CHARS = ['\u0000', '\u0001', '\u001b', '\ud800', '\udfff', '\ufffe', '\uffff', '\u0085', '\u2028'];
const OPERATORS = ['=', '!=', 'IN', 'NOT IN', 'starts-with', 'ends-with', 'contains', 'GT', 'GT=', 'LT', 'LT=', 'between'];
const VERB_NAMES = [...VERBS, 'COUNT', 'SEARCH', 'create', 'DROP', 'EXEC', 'QUERY'];
const PROTOTYPE_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];
/** Well-formed markup a value or an element may hold: entities, character references, CDATA, comments, PIs. */
const MARKUP = ['&amp;', '&lt;', '&gt;', '&quot;', '&apos;', '&#65;', '&#x1F600;', '&#xFEFF;', '<![CDATA[ x ]]>', '<![CDATA[<QUERY>&amp;]]>', '<![CDATA[]]>', '<!-- c -->', '<?pi data?>', '\ufeff', '\t', '\r\n'];
/** Markup that breaks a document (or only XML 1.1 allows). */
const BROKEN = ['&#0;', '&#1;', '&#xD800;', '&#x110000;', '&bogus;', '&', '&#;', '&lol;', ']]>', '<!-- a -- b -->', '<?xml version="1.0"?>', '<!DOCTYPE x>', '<!ENTITY e "x">', '<', '>', '"', "'", '</QUERY>', '<QUERY>', '/>'];
const pick = <T>(values: readonly T[]) => fc.constantFrom(...values);
const name = fc.oneof(
  { weight: 3, arbitrary: fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.-]{0,10}$/) },
  { weight: 2, arbitrary: pick([...Object.keys(WEBAPI.fields), ...Object.keys(WEBACCOUNT.fields), ...VERB_NAMES, 'WEBAPI', 'WEBACCOUNT', 'INFO', 'RETURN', 'PAGINATE', 'SORT', 'HISTORY', 'RETURN_URL']) },
  { weight: 1, arbitrary: pick([...PROTOTYPE_NAMES, 'xml:lang', 'x:y', 'xmlns', 'ÉLÉMENT', '日本', 'info', 'webaccount', 'A-B', '_']) },
);

// eslint-disable-next-line no-control-regex -- characters XML 1.0 refuses, left to the mutations
const NOT_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ud800-\udfff\ufffe\uffff]/g;

/** Text XML can carry: short, SQL metacharacters, unicode, any code point XML allows. Mutations add the rest. */
export const anyText = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 24, unit: 'grapheme' }) },
  { weight: 2, arbitrary: pick([...SQL_META, ...UNICODE]) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12, unit: 'binary' }).map((t) => t.replace(NOT_XML, '')) },
);

/** A run of one character whose length sits on a boundary (a field's maxLength, a limit) or just past it. */
const sized = (sizes: readonly number[]) =>
  fc.tuple(pick(sizes), fc.integer({ min: -1, max: 1 }), pick(['x', 'é', '😀', ' '])).map(([n, d, c]) => c.repeat(Math.max(0, Math.ceil((n + d) / c.length))));

function wrongValue(ctx: FuzzContext) {
  return fc.oneof(
    pick(['', ' ', '-1', '0', '2147483648', '99999999999', '1e3', '0x10', 'NaN', 'true', 'null', '1,2', '2024-02-31', '2024-13-01 25:61:61', 'now',
      'javascript:alert(1)', 'file:///etc/passwd', 'ftp://127.0.0.1/x', '//evil.invalid', 'http://', 'https://[::1']),
    anyText,
    sized([ctx.limits.maxTextLength, 64, 255, 1024, 2048, 4096]),
  );
}

const date = fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }).chain((d) =>
  pick([d.toISOString(), d.toISOString().replace('T', ' ').replace('Z', ''), d.toISOString().slice(0, 19).replace('T', ' '), d.toISOString().slice(0, 10)]),
);

const serviceUrl = (ctx: FuzzContext) => fc.tuple(pick(['', '/authorize', '/token', '/revoke', '/request', '/api/v1']), pick(['', '?a=1', '#f'])).map(([p, s]) => `${ctx.serviceUrl}${p}${s}`);

/** URLs a caller sends nori (RETURN_URL, CALL parameters): allowlisted, tricks around the allowlist, the trap. */
export function callerUrl(ctx: FuzzContext) {
  const host = new URL(ctx.returnPrefix).host;
  return fc.oneof(
    fc.tuple(pick(['', 'done', 'a/b?x=1', '../x', '%2e%2e/x', 'x#y']), fc.constant(ctx.returnPrefix)).map(([p, base]) => base + p),
    pick([ctx.trapUrl, `${ctx.trapUrl}/other`, `http://${host}@evil.invalid/`, `http://${host}.evil.invalid/back/`, `//${host}/back/`, `HTTP://${host.toUpperCase()}/back/`,
      `http://${host}/back/..%2f..%2fx`, `http://${host}%2f@evil.invalid/`, 'javascript:alert(1)', 'data:text/html,x', `http://${host}\\@evil.invalid/`]),
  );
}

function plausibleValue(field: FieldDef, ctx: FuzzContext): fc.Arbitrary<string> {
  switch (field.type) {
    case 'id': return fc.integer({ min: 1, max: 12 }).map(String);
    case 'flag': return pick(['0', '1']);
    case 'datetime': return date;
    case 'enum': return pick(field.values ?? ['']);
    case 'url': return serviceUrl(ctx);
    case 'reference': return pick(['echo', 'vault', 'keyed', 'legacy', 'nowhere']);
    case 'secret': return fc.stringMatching(/^[A-Za-z0-9._-]{1,40}$/);
    default: return anyText;
  }
}

const valueOf = (field: FieldDef, ctx: FuzzContext) => fc.oneof({ weight: 8, arbitrary: plausibleValue(field, ctx) }, { weight: 1, arbitrary: wrongValue(ctx) });

/** Random attributes, on any element. */
const attrs = (ctx: FuzzContext) =>
  fc.oneof(
    { weight: 40, arbitrary: fc.constant([] as [string, string][]) },
    { weight: 2, arbitrary: fc.array(fc.tuple(name, anyText), { maxLength: 3 }) },
    { weight: 1, arbitrary: fc.tuple(pick(['name', 'ID', 'operator', 'atomic', 'replay', 'display']), sized([ctx.limits.maxAttributeLength])).map((a) => [a]) },
    { weight: 1, arbitrary: fc.integer({ min: ctx.limits.maxAttributes - 1, max: ctx.limits.maxAttributes + 1 }).map((n) => Array.from({ length: n }, (_, i) => [`a${i}`, '1'] as [string, string])) },
  );

const special = pick(MARKUP).map((raw): Piece => ({ raw }));
const broken = pick(BROKEN).map((raw): Piece => ({ raw }));

const CONTROL_REFS = ['&#1;', '&#x1b;', '&#x7f;', '&#x85;', '&#x8;'];
const MAP_NAMES = ['GREETING', 'CONTENT_URL', 'X', 'A_1', 'greeting', 'a-b', 'Z'.repeat(70)];

/** Children of a field: its value, now and then with markup around it or a character reference after it. */
const valueKids = (value: fc.Arbitrary<string>) =>
  fc.oneof(
    { weight: 16, arbitrary: value.map((v) => [txt(v)]) },
    { weight: 2, arbitrary: fc.tuple(value, special).map(([v, s]) => [txt(v), s]) },
    { weight: 2, arbitrary: value.map((v) => [{ raw: `<![CDATA[${v}]]>` }]) },
    // Control characters: only XML 1.1 lets a reference carry them, and then the field's own check must refuse them.
    { weight: 1, arbitrary: fc.tuple(value, pick(CONTROL_REFS)).map(([v, r]) => [txt(v), { raw: r }]) },
  );


function fieldPiece(fieldName: string, field: FieldDef, ctx: FuzzContext): fc.Arbitrary<Piece> {
  if (field.type === 'map') {
    return fc.array(fc.tuple(pick(MAP_NAMES), anyText).map(([n, v]) => el(n, [], [txt(v)])), { maxLength: 3 }).map((kids) => el(fieldName, [], kids));
  }
  if (field.type === 'secret') {
    // A secret nori refuses (a control character, under XML 1.1) must not be echoed either: make that common.
    const secret = valueOf(field, ctx).map((v) => SENT_SECRET + v);
    return fc.oneof({ weight: 3, arbitrary: valueKids(secret) }, { weight: 1, arbitrary: fc.tuple(secret, pick(CONTROL_REFS)).map(([v, r]) => [txt(v), { raw: r }]) }).map((kids) => el(fieldName, [], kids));
  }
  return fc.tuple(attrs(ctx), valueKids(valueOf(field, ctx))).map(([a, kids]) => el(fieldName, a, kids));
}

const ELEMENT_DEFS: readonly ElementDef[] = [WEBAPI, WEBACCOUNT];
const elementDef = fc.oneof({ weight: 1, arbitrary: fc.constant(WEBAPI) }, { weight: 2, arbitrary: fc.constant(WEBACCOUNT) });
const junkField = fc.tuple(name, anyText).map(([n, v]) => el(n, [], [txt(v)]));

/** One INFO of CREATE or UPDATE: fields of the element (required ones most of the time), now and then others. */
function info(def: ElementDef, ctx: FuzzContext, required: boolean): fc.Arbitrary<Piece> {
  const entries = Object.entries(def.fields);
  const needed = entries.filter(([, f]) => f.required).map(([n, f]) => (n === 'API' ? fc.constant(el('API', [], [txt('echo')])) : fieldPiece(n, f, ctx)));
  const writable = entries.filter(([, f]) => f.writable !== 'nori');
  const any = (list: typeof entries) => fc.constantFrom(...list).chain(([n, f]) => fieldPiece(n, f, ctx));
  const fields = fc.oneof({ weight: 16, arbitrary: any(writable) }, { weight: 2, arbitrary: any(entries) }, { weight: 1, arbitrary: junkField });
  return fc.tuple(required ? fc.tuple(...needed) : fc.constant([]), fc.array(fields, { minLength: required ? 0 : 1, maxLength: 4 }))
    .map(([a, b]) => el('INFO', [], [...a, ...b]));
}

/** One criterion: mostly an operator the field takes with values joined as it expects, sometimes anything. */
function criterion(def: ElementDef, ctx: FuzzContext): fc.Arbitrary<Piece> {
  const textual = new Set(['text', 'url', 'enum', 'reference']);
  return fc.constantFrom(...Object.entries(def.fields)).chain(([n, f]) => {
    const fitting = ['=', '!=', 'IN', 'NOT IN', ...(textual.has(f.type) ? ['starts-with', 'ends-with', 'contains'] : []), ...(f.type === 'flag' ? [] : ['GT', 'GT=', 'LT', 'LT=', 'between'])];
    const op = fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 6, arbitrary: pick(fitting) }, { weight: 1, arbitrary: pick([...OPERATORS, 'LIKE', '~', 'in', '']) });
    const value = f.type === 'secret' ? valueOf(f, ctx).map((v) => SENT_SECRET + v) : valueOf(f, ctx);
    return fc.tuple(op, fc.array(value, { minLength: 1, maxLength: 3 }), fc.boolean()).map(([o, values, odd]) => {
      const text = o === 'IN' && !odd ? values.join(',') : o === 'between' && !odd ? `${values[0]}/${values[1] ?? values[0]}` : odd ? values.join(',') : values[0]!;
      return el(n, o === undefined ? [] : [['operator', o]], [txt(text)]);
    });
  });
}

const ids = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 12 }).map(String) },
  { weight: 2, arbitrary: fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 4 }).map((a) => a.join(',')) },
  { weight: 1, arbitrary: pick(['', '0', '-1', 'abc', '1,,2', '2147483648', '1 2', '1;2', ' 3 ', "1' OR '1'='1", Array.from({ length: 1001 }, (_, i) => i + 1).join(',')]) },
);

function returnPiece(def: ElementDef) {
  const some = fc.array(fc.oneof(pick(Object.keys(def.fields)), name), { maxLength: 4 }).chain((fields) =>
    fc.boolean().map((history) => el('RETURN', [], [el('INFO', [], fields.map((f) => el(f))), ...(history ? [el('HISTORY')] : [])])));
  return fc.oneof({ weight: 4, arbitrary: some }, { weight: 1, arbitrary: fc.boolean().map((odd) => el('RETURN', [], [el('NOTHING'), ...(odd ? [el('INFO')] : [])])) });
}

/** A method element of CALL: the echo plugin's methods with their parameters, right or wrong, or others. */
const methods = (ctx: FuzzContext) => {
  const param = fc.oneof(
    fc.tuple(pick(['TAGS', 'FLAG', 'KIND', 'DATA', 'MAIL', 'TEXT', 'PASSWORD', 'ID', 'id']), fc.oneof(anyText, pick(['1', '7', '1000', '0', 'a,b', 'true', 'b', 'AAEC/w==', 'a@b.c']))).map(([n, v]) => el(n, [], [txt(v)])),
    callerUrl(ctx).map((u) => el('SITE', [], [txt(u)])),
    fc.array(fc.tuple(pick(['NAME', 'CITY', 'code', 'params', '__proto__', 'a.b', 'MESSAGE', 'x-1']), anyText), { maxLength: 3 }).map((e) => el('FIELDS', [], e.map(([n, v]) => el(n, [], [txt(v)])))),
  );
  const read = fc.tuple(fc.integer({ min: 0, max: 1001 }), fc.array(param, { maxLength: 3 })).map(([id, p]) => el('READ', [], [el('ID', [], [txt(String(id))]), ...p]));
  const write = fc.tuple(anyText, fc.option(anyText, { nil: undefined })).map(([t, pw]) => el('WRITE', [], [el('TEXT', [], [txt(t)]), ...(pw === undefined ? [] : [el('PASSWORD', [], [txt(SENT_SECRET + pw)])])]));
  const other = fc.tuple(pick(['HELLO', 'REFUSE', 'ODD', 'WHOAMI', 'NOPE', 'read', 'RETURN_URL']), fc.array(param, { maxLength: 2 })).map(([m, p]) => el(m, [], p));
  return fc.oneof(read, write, other);
};

/** A command as a client would write it, right or wrong. */
export function command(ctx: FuzzContext): fc.Arbitrary<Piece> {
  const withName = (verb: string, kids: Piece[], extra: [string, string][]) => el(verb, extra, kids);
  const named = fc.tuple(fc.option(anyText, { nil: undefined }), attrs(ctx)).map(([n, a]) => (n === undefined ? a : [['name', n] as [string, string], ...a]));
  const opt = <T>(a: fc.Arbitrary<T>, weight = 1) => fc.oneof({ weight: 2, arbitrary: fc.constant(undefined) }, { weight, arbitrary: a });
  const one = fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 1, max: 12 }).map(String) }, { weight: 1, arbitrary: ids });
  const crud = elementDef.chain((def) => {
    const infos = fc.array(fc.array(criterion(def, ctx), { maxLength: 3 }).map((c) => el('INFO', [], c)), { maxLength: 3 });
    const paginate = fc.tuple(opt(fc.oneof(pick(['1', '2', '5', '1000']), pick(['1001', '0', '-1', 'x', ' 3']), anyText), 2), opt(pick(['1', '2', '3', '1000000', '1000001', '0', 'x']), 2))
      .map(([display, page]) => el('PAGINATE', [...(display === undefined ? [] : [['display', display] as const]), ...(page === undefined ? [] : [['page', page] as const])]));
    const slice = fc.tuple(opt(pick(['1', '2', '999', '0', 'x']), 2), opt(pick(['1', '3', '1000', '1001', '0']), 2))
      .map(([start, end]) => el('SLICE', [...(start === undefined ? [] : [['start', start] as const]), ...(end === undefined ? [] : [['end', end] as const])]));
    const range = fc.oneof({ weight: 3, arbitrary: paginate }, { weight: 1, arbitrary: slice });
    // UPDATE, DELETE and KILL by ID or, now and then, by a WHERE of criteria (sometimes with an ID as well).
    const addressed = (kids: Piece[]) => fc.oneof(
      { weight: 4, arbitrary: one.map((id) => el(def.name, [['ID', id]], kids)) },
      { weight: 1, arbitrary: fc.tuple(infos, fc.option(one, { nil: undefined })).map(([i, id]) => el(def.name, id === undefined ? [] : [['ID', id]], [el('WHERE', [], i), ...kids])) },
    );
    const sort = fc.tuple(fc.oneof({ weight: 4, arbitrary: pick(Object.keys(def.fields)) }, { weight: 1, arbitrary: name }), pick(['ascending', 'descending', 'up'])).map(([f, o]) => el('SORT', [['select', f], ['order', o]]));
    return fc.oneof(
      fc.tuple(info(def, ctx, true), named).map(([i, a]) => withName('CREATE', [el(def.name, [], [i])], a)),
      fc.tuple(info(def, ctx, false).chain((i) => addressed([i])), named).map(([e, a]) => withName('UPDATE', [e], a)),
      fc.tuple(ids, opt(returnPiece(def)), named).map(([id, r, a]) => withName('GET', [el(def.name, [['ID', id]], r ? [r] : [])], a)),
      fc.tuple(pick(['DELETE', 'KILL']), addressed([]), named).map(([verb, e, a]) => withName(verb, [e], a)),
      fc.tuple(infos, opt(range), fc.array(sort, { maxLength: 2 }), opt(returnPiece(def)), named)
        .map(([i, page, sorts, r, a]) => withName('SEARCH', [el(def.name, [], i), ...(page ? [page] : []), ...sorts, ...(r ? [r] : [])], a)),
      fc.tuple(infos, named).map(([i, a]) => withName('COUNT', [el(def.name, [], i)], a)),
    );
  });
  const authorize = fc.tuple(one, opt(callerUrl(ctx), 2), named).map(([id, u, a]) => withName('AUTHORIZE', [el('WEBACCOUNT', [['ID', id]], u === undefined ? [] : [el('RETURN_URL', [], [txt(u)])])], a));
  const call = fc.tuple(fc.oneof({ weight: 3, arbitrary: pick(['1', '7']) }, { weight: 2, arbitrary: ids }), methods(ctx), opt(callerUrl(ctx)), fc.oneof({ weight: 12, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{0,70}$/) }), named)
    .map(([id, m, u, replay, a]) => withName('CALL', [el('WEBACCOUNT', [['ID', id], ...(replay === undefined ? [] : [['replay', replay] as [string, string]])], [m, ...(u === undefined ? [] : [el('RETURN_URL', [], [txt(u)])])])], a));
  return fc.oneof({ weight: 10, arbitrary: crud }, { weight: 2, arbitrary: authorize }, { weight: 3, arbitrary: call }, { weight: 1, arbitrary: tree(ctx) }, { weight: 1, arbitrary: fc.tuple(pick(VERB_NAMES), fc.constantFrom(...ELEMENT_DEFS)).map(([v, d]) => el(v, [], [el(d.name)])) });
}

/** Any tree of elements, names and text, sometimes nested around the depth limit. */
export function tree(ctx: FuzzContext): fc.Arbitrary<Piece> {
  const { node } = fc.letrec<{ node: Piece }>((tie) => ({
    node: fc.tuple(name, attrs(ctx), fc.array(fc.oneof({ maxDepth: 4 }, anyText.map(txt), special, tie('node')), { maxLength: 4 })).map(([n, a, k]) => el(n, a, k)),
  }));
  const deep = fc.tuple(fc.integer({ min: ctx.limits.maxDepth - 3, max: ctx.limits.maxDepth + 2 }), name).map(([n, leaf]) => {
    let p = el(leaf);
    for (let i = 0; i < n; i++) p = el(i % 2 ? 'INFO' : 'WEBACCOUNT', [], [p]);
    return p;
  });
  const wide = fc.integer({ min: ctx.limits.maxElements - 2, max: ctx.limits.maxElements + 1 }).map((n): Piece => ({ raw: `<SEARCH><WEBACCOUNT>${'<INFO/>'.repeat(n)}</WEBACCOUNT></SEARCH>` }));
  return fc.oneof({ weight: 8, arbitrary: node }, { weight: 1, arbitrary: deep }, { weight: 1, arbitrary: wide });
}

/** What may come before the root: mostly nothing or what a client writes, sometimes what nori refuses. */
const prolog = fc.oneof(
  { weight: 30, arbitrary: fc.constant('') },
  { weight: 10, arbitrary: pick(['<?xml version="1.0" encoding="UTF-8"?>\n', '<?xml version="1.0"?>', '<?xml version="1.0" encoding="utf8" standalone="yes"?>', '\ufeff', ' \n', '<!-- before -->', '<?app x?>']) },
  { weight: 5, arbitrary: pick(['<?xml version="1.1"?>', '<?xml version="1.1" encoding="UTF-8"?>']) },
  { weight: 3, arbitrary: pick(['<?xml version="1.0" encoding="ISO-8859-1"?>', '<?xml version="2.0"?>', '<!DOCTYPE QUERY>', '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>']) },
);

/** A whole document: prolog, root (QUERY mostly), commands with markup between them, mutated now and then. */
export function document(ctx: FuzzContext): fc.Arbitrary<string> {
  const roots = fc.oneof({ weight: 12, arbitrary: fc.constant([] as [string, string][]) }, { weight: 2, arbitrary: pick(['true', 'false', 'TRUE', '1', '']).map((v) => [['atomic', v]] as [string, string][]) }, { weight: 1, arbitrary: attrs(ctx) });
  const between = pick(['<!-- c -->', '<?pi data?>', '\t', '\r\n', ' ', '<![CDATA[ ]]>']).map((raw): Piece => ({ raw }));
  const body = fc.array(fc.oneof({ weight: 40, arbitrary: command(ctx) }, { weight: 4, arbitrary: between }, { weight: 1, arbitrary: special }, { weight: 1, arbitrary: broken }, { weight: 1, arbitrary: anyText.map(txt) }), { maxLength: 6 });
  const many = fc.integer({ min: ctx.limits.maxCommands - 1, max: ctx.limits.maxCommands + 1 }).map((n) => Array.from({ length: n }, () => el('COUNT', [], [el('WEBAPI')])));
  const rootName = fc.oneof({ weight: 15, arbitrary: fc.constant('QUERY') }, { weight: 1, arbitrary: pick(['query', 'RESPONSE', 'QUERY:x', 'Q']) });
  const doc = fc.tuple(prolog, rootName, roots, fc.oneof({ weight: 20, arbitrary: body }, { weight: 1, arbitrary: many }), fc.oneof({ weight: 20, arbitrary: pick(['', '\n', '<!-- after -->', '<?pi?>']) }, { weight: 1, arbitrary: pick(['tail', '<QUERY/>', '&amp;']) }))
    .map(([prolog, root, a, kids, epilog]) => prolog + serialize(el(root, a, kids)) + epilog);
  // Batches aimed at the request budgets (the fuzz target's are small): many SEARCHes, huge IN lists, and long
  // texts in every criterion and CALL parameter.
  const search = fc.constantFrom(...ELEMENT_DEFS).map((d) => el('SEARCH', [], [el(d.name)]));
  const inList = fc.tuple(fc.integer({ min: 1, max: Math.floor(ctx.limits.maxTextLength / 7) }), pick(['ID', 'DENOMINATION', 'OWNERID'])).map(([n, f]) =>
    el('COUNT', [], [el('WEBACCOUNT', [], [el('INFO', [], [el(f, [['operator', 'IN']], [txt(Array.from({ length: n }, (_, i) => String(i + 1)).join(','))])])])]));
  const longParam = fc.tuple(pick(['TEXT', 'MAIL', 'SITE', 'TAGS', 'DATA', 'ID']), sized([ctx.limits.maxTextLength, 1024, 254])).map(([p, v]) =>
    el('CALL', [], [el('WEBACCOUNT', [['ID', '1']], [el(p === 'TEXT' ? 'WRITE' : 'READ', [], [el(p, [], [txt(v)])])])]));
  const aimed = fc.tuple(pick(['', 'true']), fc.array(fc.oneof({ weight: 4, arbitrary: search }, { weight: 1, arbitrary: inList }, { weight: 1, arbitrary: longParam }, { weight: 1, arbitrary: command(ctx) }), { minLength: 1, maxLength: ctx.limits.maxCommands }))
    .map(([atomic, kids]) => serialize(el('QUERY', atomic ? [['atomic', atomic]] : [], kids)));
  const big = fc.tuple(doc, pick([ctx.limits.maxBytes - 1, ctx.limits.maxBytes + 1])).map(([d, n]) => d + ' '.repeat(Math.max(0, n - Buffer.byteLength(d))));
  const mutations = fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(mutation, { minLength: 1, maxLength: 3 }) });
  return fc.tuple(fc.oneof({ weight: 40, arbitrary: doc }, { weight: 4, arbitrary: aimed }, { weight: 1, arbitrary: big }), mutations).map(([d, ms]) => ms.reduce((s, m) => m(s), d));
}

type Mutation = (s: string) => string;
const at = (s: string, f: number) => Math.floor(f * s.length);
const frac = fc.noBias(fc.integer({ min: 0, max: 9999 })).map((n) => n / 10_000);
/** Mutations of the text: each cuts, drops, inserts, duplicates an attribute, repeats a slice, or changes case. */
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 2, arbitrary: frac.map((f): Mutation => (s) => s.slice(0, at(s, f))) },
  { weight: 1, arbitrary: fc.tuple(frac, fc.integer({ min: 1, max: 20 })).map(([f, n]): Mutation => (s) => s.slice(0, at(s, f)) + s.slice(at(s, f) + n)) },
  { weight: 2, arbitrary: fc.tuple(frac, fc.oneof(pick(MARKUP), pick(BROKEN), pick(BAD_CHARS), fc.string({ maxLength: 4, unit: 'binary' }))).map(([f, x]): Mutation => (s) => s.slice(0, at(s, f)) + x + s.slice(at(s, f))) },
  { weight: 2, arbitrary: fc.tuple(frac, pick(['a', 'ID', 'name', 'operator', 'atomic'])).map(([f, n]): Mutation => (s) => {
    // Finds a start tag from the chosen point and gives it the same attribute twice.
    const i = s.indexOf('<', at(s, f));
    const m = i < 0 ? null : /^<[A-Za-z_][^\s/>]*/.exec(s.slice(i));
    return m ? `${s.slice(0, i + m[0].length)} ${n}="1" ${n}="2"${s.slice(i + m[0].length)}` : s;
  }) },
  { weight: 1, arbitrary: fc.tuple(frac, fc.integer({ min: 1, max: 40 }), fc.integer({ min: 2, max: 30 })).map(([f, len, times]): Mutation => (s) => s.slice(0, at(s, f)) + s.slice(at(s, f), at(s, f) + len).repeat(times) + s.slice(at(s, f) + len)) },
  { weight: 1, arbitrary: fc.constant<Mutation>((s) => s.toLowerCase()) },
);

/** A case: a document, how its bytes are encoded, who sends it and how (the engine directly, or HTTP). */
export function fuzzCase(ctx: FuzzContext, httpShare: number): fc.Arbitrary<FuzzCase> {
  const http = fc.tuple(pick(['/', '/', '/nql']), fc.oneof({ weight: 10, arbitrary: fc.constant('application/xml') }, { weight: 1, arbitrary: pick(['text/xml', 'text/xml; charset=utf-8', 'application/xml; charset=iso-8859-1', 'application/x-www-form-urlencoded', 'application/json', 'text/plain']) }))
    .map(([path, contentType]): Transport => ({ kind: 'http', path, contentType }));
  const share = Math.round(httpShare * 100);
  return fc.record({
    doc: document(ctx),
    encoding: fc.oneof({ weight: 10, arbitrary: fc.constant<Encoding>('string') }, { weight: 1, arbitrary: pick<Encoding>(['utf8', 'bom', 'invalid-utf8', 'latin1', 'utf16']) }),
    at: frac,
    who: pick<Who>(['admin', 'user']),
    transport: fc.oneof({ weight: 100 - share, arbitrary: fc.constant<Transport>({ kind: 'engine' }) }, { weight: share, arbitrary: http }),
  });
}

const INVALID_UTF8 = [[0xff], [0xc0, 0x80], [0x80], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80]];

/** The body as sent: the document as a string, or bytes in the case's encoding. */
export function encode(c: FuzzCase): string | Uint8Array {
  switch (c.encoding) {
    case 'string': return c.doc;
    case 'utf8': return Buffer.from(c.doc, 'utf8');
    case 'bom': return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(c.doc, 'utf8')]);
    case 'latin1': return Buffer.from(c.doc, 'latin1');
    case 'utf16': return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(c.doc, 'utf16le')]);
    case 'invalid-utf8': {
      const bytes = Buffer.from(c.doc, 'utf8');
      const i = Math.floor(c.at * bytes.length);
      return Buffer.concat([bytes.subarray(0, i), Buffer.from(INVALID_UTF8[Math.floor(c.at * 1000) % INVALID_UTF8.length]!), bytes.subarray(i)]);
    }
  }
}
