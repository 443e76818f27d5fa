/**
 * @module plugins/loader
 * Finds the plugins at start: the folders under nori's own `plugins/`, any extra folders, and npm packages
 * named in configuration. Only these are ever imported: no command can make nori load a file.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isPlugin } from '../sdk/define.js';
import type { Plugin } from '../sdk/types.js';
import { PluginLoadError, checkPlugin } from './check.js';

export interface PluginSources {
  /** Load the plugins shipped with nori (plugins/). Default true. */
  readonly builtins?: boolean;
  /** Further folders holding one plugin folder each. */
  readonly dirs?: readonly string[];
  /** Single plugin folders (a plugin's own test loads just itself). */
  readonly folders?: readonly string[];
  /** npm packages whose default export is a plugin. */
  readonly packages?: readonly string[];
}

export type Registry = ReadonlyMap<string, Plugin>;

/** nori's own plugins: beside src/ in a checkout (run by tsx), beside dist/src/ once built. */
export const BUILTIN_PLUGINS = fileURLToPath(new URL('../../plugins/', import.meta.url));

async function importDefault(specifier: string, where: string): Promise<Plugin> {
  let module: { default?: unknown };
  try {
    module = (await import(specifier)) as { default?: unknown };
  } catch (cause) {
    throw new PluginLoadError(`plugin ${where} cannot be loaded: ${(cause as Error).message}`, { cause });
  }
  if (!isPlugin(module.default)) throw new PluginLoadError(`plugin ${where} must export default definePlugin(...)`);
  return module.default;
}

function entryOf(folder: string): string | undefined {
  // Built code first; a checkout run through tsx has only the TypeScript.
  return ['index.js', 'index.ts'].map((f) => join(folder, f)).find((f) => existsSync(f));
}

async function fromDir(dir: string): Promise<{ plugin: Plugin; folder: string }[]> {
  if (!existsSync(dir)) throw new PluginLoadError(`plugin folder ${dir} does not exist`);
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const folder = join(dir, name);
    if (name.startsWith('.') || name.startsWith('_') || !statSync(folder).isDirectory()) continue;
    const entry = entryOf(folder);
    if (!entry) throw new PluginLoadError(`plugin folder ${folder} has no index.ts or index.js`);
    out.push({ plugin: await importDefault(pathToFileURL(entry).href, folder), folder });
  }
  return out;
}

/** A package named in configuration, resolved from the working directory (the deployment's node_modules). */
async function fromPackage(name: string): Promise<Plugin> {
  let specifier = name;
  try {
    specifier = pathToFileURL(createRequire(resolve('package.json')).resolve(name)).href;
  } catch {
    // ESM-only packages without a require condition: let import() resolve it from nori's own location.
  }
  return importDefault(specifier, `package ${name}`);
}

/** Loads and checks every plugin; throws PluginLoadError naming the plugin and the problem. */
export async function loadPlugins(sources: PluginSources = {}): Promise<Registry> {
  const found: { plugin: Plugin; folder?: string }[] = [];
  // An installed nori without its plugins folder simply has no built-in plugins; a configured folder must exist.
  const builtins = sources.builtins !== false && existsSync(BUILTIN_PLUGINS) ? [BUILTIN_PLUGINS] : [];
  const dirs = [...builtins, ...(sources.dirs ?? [])];
  for (const dir of dirs) found.push(...(await fromDir(dir)));
  for (const folder of sources.folders ?? []) {
    const entry = entryOf(folder);
    if (!entry) throw new PluginLoadError(`plugin folder ${folder} has no index.ts or index.js`);
    found.push({ plugin: await importDefault(pathToFileURL(entry).href, folder), folder });
  }
  for (const name of sources.packages ?? []) found.push({ plugin: await fromPackage(name) });
  const registry = new Map<string, Plugin>();
  for (const { plugin, folder } of found) {
    checkPlugin(plugin, folder);
    const name = plugin.definition.name;
    if (registry.has(name)) throw new PluginLoadError(`plugin "${name}" is defined twice${folder ? ` (again in ${folder})` : ''}`);
    registry.set(name, plugin);
  }
  return registry;
}
