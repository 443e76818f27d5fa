/**
 * @module call/params
 * A CALL's parameters, checked against the method's definition before anything leaves nori: every element
 * must be a declared parameter of the right type, every required one present. Failures point at the element.
 */
import { failure, type Failure } from '../errors.js';
import type { MethodDef, ParamDef } from '../sdk/types.js';
import type { XmlNode } from '../xml/parse.js';

const at = (n: XmlNode) => ({ line: n.line, column: n.column });
// One way to match any text: the domain's labels hold no dot, so no two quantifiers can trade characters and the
// time is linear in the length (the old `[^\s@]+\.[^\s@]+` was quadratic on a run of dots). Length is checked first.
const EMAIL = /^[^\s@]+@[^\s.@]+(?:\.[^\s.@]+)+$/;
const EMAIL_MAX = 254;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const MAP_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;
// Tab and newlines are text; other control characters are refused, as in element fields.
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/;

type Read = { ok: unknown } | { expected: string };

function readText(text: string, def: ParamDef): Read {
  if (def.maxLength !== undefined && text.length > def.maxLength && [...text].length > def.maxLength) return { expected: `at most ${def.maxLength} characters` };
  if (CONTROL.test(text)) return { expected: 'text without control characters' };
  return { ok: text };
}

function readScalar(text: string, def: ParamDef): Read {
  switch (def.type) {
    case 'integer': {
      const n = /^-?[0-9]{1,15}$/.test(text) ? Number(text) : NaN;
      const lo = def.min ?? Number.MIN_SAFE_INTEGER;
      const hi = def.max ?? Number.MAX_SAFE_INTEGER;
      return Number.isSafeInteger(n) && n >= lo && n <= hi ? { ok: n } : { expected: `a whole number${def.min !== undefined || def.max !== undefined ? ` from ${lo} to ${hi}` : ''}` };
    }
    case 'boolean':
      return text === 'true' || text === '1' ? { ok: true } : text === 'false' || text === '0' ? { ok: false } : { expected: 'true or false' };
    case 'enum':
      return def.values!.includes(text) ? { ok: text } : { expected: `one of ${def.values!.join(', ')}` };
    case 'url': {
      try {
        const u = new URL(text);
        if (u.protocol === 'http:' || u.protocol === 'https:') return readText(text, def);
      } catch {
        // falls through to the refusal
      }
      return { expected: 'an absolute http or https URL' };
    }
    case 'email':
      return text.length <= EMAIL_MAX && EMAIL.test(text) ? readText(text, def) : { expected: 'an e-mail address' };
    case 'base64': {
      const compact = text.replace(/\s+/g, '');
      if (compact.length % 4 !== 0 || !BASE64.test(compact)) return { expected: 'base64' };
      const bytes = Buffer.from(compact, 'base64');
      return def.maxLength !== undefined && bytes.length > def.maxLength ? { expected: `at most ${def.maxLength} bytes` } : { ok: bytes };
    }
    case 'list': {
      const items = text.split(',').map((s) => s.trim()).filter(Boolean);
      for (const item of items) {
        const r = readText(item, def);
        if (!('ok' in r)) return { expected: `a comma-separated list of ${r.expected.replace(/^at most/, 'items of at most')}` };
      }
      return { ok: items };
    }
    default: {
      // Length (and control characters) before the plugin's pattern, so the pattern only ever sees bounded text.
      const r = readText(text, def);
      if ('ok' in r && def.pattern !== undefined && !new RegExp(`^(?:${def.pattern})$`, 'u').test(text)) return { expected: `text matching ${def.pattern}` };
      return r;
    }
  }
}

function readMap(method: string, name: string, node: XmlNode, def: ParamDef): { map: Record<string, string> } | { failure: Failure } {
  // No prototype: an entry may be named __proto__, constructor or code like any other.
  const out = Object.create(null) as Record<string, string>;
  for (const child of node.children) {
    const where = `${name}/${child.name}`;
    if (!MAP_NAME.test(child.name) || child.children.length || Object.keys(child.attributes).length || Object.hasOwn(out, child.name)) {
      return { failure: failure('PARAM_INVALID', { method, param: where, expected: 'one element per entry, each with a text value, each name once', got: '' }, at(child)) };
    }
    const r = readText(child.text.trim(), def);
    if (!('ok' in r)) return { failure: failure('PARAM_INVALID', { method, param: where, expected: r.expected, got: '' }, at(child)) };
    out[child.name] = r.ok as string;
  }
  return { map: out };
}

/** The typed parameters, or the first thing wrong with them (kept apart: parameters are data a caller chose). */
export function checkParams(method: string, def: MethodDef, node: XmlNode): { params: Record<string, unknown> } | { failure: Failure } {
  const attribute = Object.keys(node.attributes)[0];
  if (attribute !== undefined) return { failure: failure('UNKNOWN_ATTRIBUTE', { tag: method, name: attribute }, at(node)) };
  if (node.text.trim() !== '') return { failure: failure('UNEXPECTED_TEXT', { parent: method, text: node.text.trim().slice(0, 40) }, at(node)) };
  const declared = Object.keys(def.params);
  const params = Object.create(null) as Record<string, unknown>;
  for (const child of node.children) {
    const p = def.params[child.name];
    if (!p || !Object.hasOwn(def.params, child.name)) {
      return { failure: failure('PARAM_UNKNOWN', { method, param: child.name.slice(0, 64), params: declared.length ? declared.join(', ') : 'no parameters' }, at(child)) };
    }
    if (Object.hasOwn(params, child.name)) return { failure: failure('PARAM_INVALID', { method, param: child.name, expected: 'given once', got: '' }, at(child)) };
    if (Object.keys(child.attributes).length) return { failure: failure('UNKNOWN_ATTRIBUTE', { tag: child.name, name: Object.keys(child.attributes)[0]! }, at(child)) };
    if (p.type === 'map') {
      const m = readMap(method, child.name, child, p);
      if ('failure' in m) return m;
      params[child.name] = m.map;
      continue;
    }
    if (child.children.length) return { failure: failure('PARAM_INVALID', { method, param: child.name, expected: 'a value, not elements', got: '' }, at(child.children[0]!)) };
    const text = p.secret ? child.text : child.text.trim();
    if (text === '') continue;
    const r = readScalar(text, p);
    // A secret's value is never echoed, not even when it is wrong.
    const got = p.secret || p.type === 'base64' ? '' : `, not "${text.slice(0, 60)}"`;
    if (!('ok' in r)) return { failure: failure('PARAM_INVALID', { method, param: child.name, expected: r.expected, got }, at(child)) };
    params[child.name] = r.ok;
  }
  for (const [name, p] of Object.entries(def.params)) {
    if (p.required && !Object.hasOwn(params, name)) return { failure: failure('PARAM_MISSING', { method, param: name }, at(node)) };
  }
  return { params };
}

