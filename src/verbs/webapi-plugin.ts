/**
 * @module verbs/webapi-plugin
 * A WEBAPI's PLUGIN must name a loaded plugin, and its SETTINGS only what that plugin declares, with values of
 * the declared type: a mistyped setting is refused when it is written, not ignored when a CALL needs it.
 */
import { decodeMap, readValue, isReadError, type FieldValue } from '../field-types.js';
import { failure, type Failure } from '../errors.js';
import type { Row } from '../store/elements.js';
import type { HandlerContext } from './context.js';

/** Checks the values a CREATE or UPDATE writes to WEBAPI rows (`rows` empty for CREATE). */
export function checkPluginFields(ctx: HandlerContext, values: ReadonlyMap<string, FieldValue>, rows: readonly Row[] = [{}]): Failure | undefined {
  const named = values.get('PLUGIN');
  if (typeof named === 'string' && !ctx.plugins.has(named)) {
    return failure('PLUGIN_UNKNOWN', { plugin: named, plugins: [...ctx.plugins.keys()].join(', ') || 'none' });
  }
  if (!values.has('SETTINGS') && !values.has('PLUGIN')) return undefined;
  for (const row of rows) {
    const name = (values.has('PLUGIN') ? named : row.PLUGIN) ?? (values.get('DENOMINATION') ?? row.DENOMINATION);
    const plugin = typeof name === 'string' ? ctx.plugins.get(name) : undefined;
    const declared = plugin?.definition.settings ?? {};
    const settings = decodeMap((values.has('SETTINGS') ? values.get('SETTINGS') : row.SETTINGS) ?? null);
    for (const [key, value] of Object.entries(settings)) {
      const def = Object.hasOwn(declared, key) ? declared[key] : undefined;
      if (!def) return failure('SETTING_UNKNOWN', { setting: key, plugin: plugin?.definition.name ?? 'none', settings: Object.keys(declared).join(', ') || 'none' });
      if (def.type === 'url') {
        const v = readValue(value, { type: 'url', writable: 'client', doc: '' });
        if (isReadError(v)) return failure('INVALID_VALUE', { field: `SETTINGS/${key}`, expected: 'an absolute http or https URL', got: `, not "${value.slice(0, 80)}"` });
      }
    }
  }
  return undefined;
}
