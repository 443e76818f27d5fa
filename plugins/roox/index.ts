/**
 * @module plugins/roox
 * RooX UIDM Federation WebAPI: the current customer, and the user's partner mappings (links to social
 * networks) listed and deleted. Every RooX answer, errors included, carries X-Context-Id and X-Node-Id for
 * support and X-API-Maturity; the hooks below turn them into notes and warnings, and read RooX's
 * `{"error": {code, message, data}}` so the caller gets it intact (the document asks for it to be handed to
 * support as it is).
 */
import { BadResponse, definePlugin, ParamError, type PluginHooks, type ResultValue, type ServiceContext, type ServiceFailure, type ServiceResponse } from '../../src/sdk/index.js';
import { definition, MAPPING_ID } from './definition.js';

/** The documented fields, in the document's order; a field RooX leaves out stays out (callout 7). */
const MAPPING_FIELDS = ['id', 'type', 'customerId', 'partnerId'] as const;
const EXTERNAL_USER_FIELDS = ['userId', 'firstName', 'lastName', 'middleName', 'fullName', 'avatarUrl', 'avatarSmallUrl'] as const;
/** The document: "if the client meets experimental or deprecated, it must log the event at WARNING level". */
const MATURITY_WARNINGS: Readonly<Record<string, string>> = {
  experimental: 'RooX marks this method experimental (X-API-Maturity): a new interface that may still change.',
  deprecated: 'RooX marks this method deprecated (X-API-Maturity): it may soon be removed.',
};
const ID = new RegExp(`^(?:${MAPPING_ID})$`);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The fields of `source` named in `fields` that hold a string or a number (the example's ids are numbers). */
function pick(source: Record<string, unknown>, fields: readonly string[]): Record<string, ResultValue> {
  const out: Record<string, ResultValue> = {};
  for (const f of fields) {
    const v = source[f];
    if (typeof v === 'string' || typeof v === 'number') out[f] = v;
  }
  return out;
}

function mapping(m: unknown): Record<string, ResultValue> {
  if (!isObject(m)) throw new BadResponse('a partner mapping that is not a JSON object');
  return {
    ...pick(m, MAPPING_FIELDS),
    ...(isObject(m.externalUser) ? { externalUser: pick(m.externalUser, EXTERNAL_USER_FIELDS) } : {}),
    ...pick(m, ['created']),
  };
}

/** `/webapi-1.0/…`: the version segment is the admin's setting, encoded so it stays one segment. */
function path(api: ServiceContext['api'], rest: string): string {
  const version = api.settings.API_VERSION || definition.settings.API_VERSION.default;
  return `/${encodeURIComponent(version)}/${rest}`;
}

/** RooX's error container (`{"error": {"code": -1001, "message": "JMS", "data": "…"}}`), code as text. */
function serviceError(res: ServiceResponse): ServiceFailure | undefined {
  const e = res.jsonObject()?.error;
  if (!isObject(e)) return undefined;
  const code = typeof e.code === 'number' || typeof e.code === 'string' ? String(e.code) : undefined;
  const message = typeof e.message === 'string' ? e.message : undefined;
  const data = e.data === undefined || e.data === null ? undefined : typeof e.data === 'string' ? e.data : JSON.stringify(e.data);
  if (code === undefined && message === undefined && data === undefined) return undefined;
  return { error: code ?? 'error', message, data };
}

/** Maturities already warned about, per CALL (each CALL has its own `warn`): a retried request warns once. */
const warned = new WeakMap<object, Set<string>>();

const inspect: NonNullable<PluginHooks['inspect']> = (res, { warn, note }) => {
  const contextId = res.headers['x-context-id'];
  const nodeId = res.headers['x-node-id'];
  if (contextId) note('contextId', contextId);
  if (nodeId) note('nodeId', nodeId);
  const maturity = res.headers['x-api-maturity']?.trim().toLowerCase() ?? '';
  const message = Object.hasOwn(MATURITY_WARNINGS, maturity) ? MATURITY_WARNINGS[maturity] : undefined;
  if (!message) return;
  const seen = warned.get(warn) ?? new Set<string>();
  warned.set(warn, seen);
  if (seen.has(maturity)) return;
  seen.add(maturity);
  warn('API_MATURITY', message);
};

export default definePlugin(
  definition,
  {
    GETCUSTOMER: async ({ request, api }) => {
      const customer = (await request({ url: path(api, 'customers/@me') })).json<unknown>();
      if (!isObject(customer)) throw new BadResponse('the customer is not a JSON object');
      return customer as ResultValue;
    },

    LISTMAPPINGS: async ({ request, api }) => {
      // The table's path; the example's api/customer/@me/partnerMappings is another spelling the document shows once.
      const list = (await request({ url: path(api, 'customers/@me/partnerMappings') })).json<unknown>();
      if (!Array.isArray(list)) throw new BadResponse('the partner mappings are not a JSON array');
      return list.map(mapping);
    },

    DELETEMAPPING: async ({ params, request, api }) => {
      // The definition's pattern already refused anything else; this keeps the path safe if it ever changes.
      if (!ID.test(params.ID)) throw new ParamError('ID', 'a mapping id (digits)');
      await request({ method: 'DELETE', url: path(api, `partnerMappings/${params.ID}`) });
      return { id: params.ID };
    },
  },
  { serviceError, inspect },
);
