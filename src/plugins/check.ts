/**
 * @module plugins/check
 * A plugin's definition is checked once, when nori starts: a broken plugin stops the start with a message
 * naming the plugin and the problem, rather than failing later on some user's CALL.
 */
import { basename, resolve } from 'node:path';
import { AUTH_TYPES } from '../../schemas/webapi.js';
import { MAP_KEY } from '../field-types.js';
import type { MethodDef, ParamType, Plugin } from '../sdk/types.js';

export class PluginLoadError extends Error {
  override name = 'PluginLoadError';
}

const NAME = /^[a-z][a-z0-9-]{0,63}$/;
const PARAM_TYPES: ReadonlySet<ParamType> = new Set(['text', 'integer', 'boolean', 'enum', 'url', 'email', 'base64', 'list', 'map']);
const AUTH_KEYS: Readonly<Record<string, readonly string[]>> = {
  oauth1: ['requestTokenUrl', 'authorizeUrl', 'tokenUrl'],
  oauth2: ['authorizeUrl', 'tokenUrl', 'revokeUrl', 'scopes', 'authorizeParams'],
  apikey: [],
  consent: [],
};

function isHttpUrl(v: unknown): boolean {
  if (typeof v !== 'string') return false;
  try {
    const u = new URL(v);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

function checkMethod(name: string, m: MethodDef, problem: (what: string) => never): void {
  if (!MAP_KEY.test(name)) problem(`method name ${JSON.stringify(name)} must be upper case (A-Z, 0-9, _)`);
  if (typeof m.doc !== 'string' || !m.doc) problem(`method ${name} needs a doc`);
  if (typeof m.params !== 'object' || m.params === null) problem(`method ${name} needs params (an object, maybe empty)`);
  for (const [p, def] of Object.entries(m.params)) {
    if (!MAP_KEY.test(p)) problem(`parameter ${name}/${p} must be named in upper case (A-Z, 0-9, _)`);
    if (!PARAM_TYPES.has(def.type)) problem(`parameter ${name}/${p} has unknown type ${JSON.stringify(def.type)}; use ${[...PARAM_TYPES].join(', ')}`);
    if (typeof def.doc !== 'string' || !def.doc) problem(`parameter ${name}/${p} needs a doc`);
    if (def.type === 'enum' && !(Array.isArray(def.values) && def.values.length)) problem(`enum parameter ${name}/${p} needs values`);
    if (def.min !== undefined && def.max !== undefined && def.min > def.max) problem(`parameter ${name}/${p} has min above max`);
    if (def.pattern !== undefined) {
      try {
        new RegExp(def.pattern, 'u');
      } catch {
        problem(`parameter ${name}/${p} has an invalid pattern`);
      }
    }
  }
}

/** Throws PluginLoadError naming the first problem; `folder` is where it was found, when it came from one. */
export function checkPlugin(plugin: Plugin, folder?: string): void {
  const d = plugin.definition;
  const label = typeof d?.name === 'string' ? d.name : (folder ?? '?');
  const problem = (what: string): never => {
    throw new PluginLoadError(`plugin "${label}"${folder ? ` (${folder})` : ''}: ${what}`);
  };
  if (typeof d?.name !== 'string' || !NAME.test(d.name)) problem('name must be lower case letters, digits and dashes');
  if (folder !== undefined && basename(resolve(folder)) !== d.name) problem(`its folder must be named ${d.name}`);
  if (typeof d.description !== 'string' || !d.description) problem('needs a description');
  if (!isHttpUrl(d.baseUrl)) problem('baseUrl must be an absolute http or https URL');
  if (!(AUTH_TYPES as readonly string[]).includes(d.authType)) problem(`authType must be one of ${AUTH_TYPES.join(', ')}`);
  if (typeof d.auth !== 'object' || d.auth === null || !(d.authType in d.auth)) problem(`auth must describe its authType ${d.authType}`);
  for (const [type, urls] of Object.entries(d.auth)) {
    const allowed = AUTH_KEYS[type];
    if (!allowed) problem(`auth has unknown type ${type}`);
    for (const [key, value] of Object.entries(urls ?? {})) {
      if (!allowed!.includes(key)) problem(`auth.${type} has unknown key ${key}`);
      if (key.endsWith('Url') && !isHttpUrl(value)) problem(`auth.${type}.${key} must be an absolute http or https URL`);
    }
    for (const key of allowed!.filter((k) => k.endsWith('Url') && k !== 'revokeUrl')) {
      if (!(urls as Record<string, unknown>)[key]) problem(`auth.${type} needs ${key}`);
    }
  }
  for (const [name, s] of Object.entries(d.settings ?? {})) {
    if (!MAP_KEY.test(name)) problem(`setting ${JSON.stringify(name)} must be upper case (A-Z, 0-9, _)`);
    if (s.type !== 'text' && s.type !== 'url') problem(`setting ${name} must be of type text or url`);
    if (s.type === 'url' && s.default !== undefined && !isHttpUrl(s.default)) problem(`setting ${name}'s default must be an http or https URL`);
  }
  if (typeof d.methods !== 'object' || d.methods === null) problem('needs methods');
  for (const [name, m] of Object.entries(d.methods)) {
    checkMethod(name, m, problem);
    if (typeof (plugin.implementation as Record<string, unknown>)[name] !== 'function') problem(`method ${name} has no implementation`);
  }
  for (const name of Object.keys(plugin.implementation)) {
    if (!Object.hasOwn(d.methods, name)) problem(`implements ${name}, which its definition does not declare`);
  }
  for (const [hook, fn] of Object.entries(plugin.hooks)) {
    if (hook === 'revoke' && typeof fn === 'object' && fn !== null) {
      // Per auth type: only types the plugin supports, each a function.
      for (const [type, revoke] of Object.entries(fn as Record<string, unknown>)) {
        if (!(type in d.auth)) problem(`hook revoke names auth type ${type}, which auth does not describe`);
        if (typeof revoke !== 'function') problem(`hook revoke.${type} must be a function`);
      }
    } else if (typeof fn !== 'function') problem(`hook ${hook} must be a function`);
  }
  if (('apikey' in d.auth || 'consent' in d.auth) && !plugin.hooks.checkKey) problem(`an ${'apikey' in d.auth ? 'apikey' : 'consent'} plugin needs a checkKey hook (AUTHORIZE checks the account's token with it)`);
  if (Object.hasOwn(d.methods, 'RETURN_URL')) problem('RETURN_URL is CALL\'s own element, not a method name');
}
