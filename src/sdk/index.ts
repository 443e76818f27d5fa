/**
 * @module sdk
 * The plugin SDK: everything a plugin author imports. Exported from the package as well
 * (`import { definePlugin } from 'nori'`).
 */
export { BadResponse, ConsentRequired, definePlugin, isBadResponse, isConsentRequired, isParamError, isPlugin, isServiceError, ParamError, ServiceError } from './define.js';
export { checkPlugin, PluginLoadError } from '../plugins/check.js';
export { readXml, xmlChildren, xmlData, type XmlObject, type XmlValue } from './xml.js';
export type * from './types.js';
