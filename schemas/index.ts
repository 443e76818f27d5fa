/**
 * @module schemas
 * The element types nori knows, by XML name.
 */
import type { ElementDef } from './types.js';
import { WEBACCOUNT } from './webaccount.js';
import { WEBAPI } from './webapi.js';

export const ELEMENTS: ReadonlyMap<string, ElementDef> = new Map<string, ElementDef>([
  [WEBAPI.name, WEBAPI],
  [WEBACCOUNT.name, WEBACCOUNT],
]);

export { WEBACCOUNT, WEBAPI };
export * from './types.js';
export { AUTHORIZATION_STATES, PUBLIC_LEVELS } from './webaccount.js';
export { AUTH_TYPES } from './webapi.js';
