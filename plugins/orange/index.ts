/**
 * @module plugins/orange
 * Orange's Personal APIs: a Bearer token from Orange's Authentication API (the account's TOKEN) reads the
 * user's data, unless the user has not consented, in which case Orange answers a PrivacyAccessDeniedException
 * (code -3) with its privacy page's URL. That is not a failure to hide: the plugin throws ConsentRequired, and
 * nori sends the user there with `urlRetour` pointing at its callback (steps 3-6 of the document).
 */
import { ConsentRequired, definePlugin, ServiceError, xmlData, type ResultValue, type ServiceContext } from '../../src/sdk/index.js';
import { definition } from './definition.js';

/**
 * Orange answers the privacy exception with an error status (a 500 in the captures we have), so its body is read
 * before the status: `<error><code>-3</code><detail>PrivacyAccessDeniedException</detail><url>…</url></error>`.
 */
async function personal(ctx: ServiceContext, path: string): Promise<ResultValue> {
  const res = await ctx.request({ url: path, auth: 'bearer', headers: { accept: 'application/xml' }, accept: [403, 500] });
  const root = res.xml();
  const field = (name: string) => root.children.find((c) => c.name === name)?.text.trim();
  if (root.name === 'error' && field('code') === '-3' && field('detail') === 'PrivacyAccessDeniedException' && field('url')) {
    // The URL comes XML-encoded; the parser decoded it, and nothing else in it is touched (its `familly`).
    throw new ConsentRequired(field('url')!, 'urlRetour');
  }
  if (res.status >= 300 || root.name === 'error') {
    throw new ServiceError({ error: field('code') ?? `HTTP ${res.status}`, message: field('detail') }, res.status);
  }
  // The SDK's one reading of XML: repeated elements are lists, attributes `@name` (<personalData family="contact">).
  return Object.fromEntries([[root.name, xmlData(root)]]);
}

const path = (ctx: ServiceContext, setting: 'CONTACT_PATH' | 'PROFILE_PATH') => ctx.api.settings[setting] || definition.settings[setting].default;

export default definePlugin(
  definition,
  {
    GETCONTACTS: (ctx) => personal(ctx, path(ctx, 'CONTACT_PATH')),
    GETPROFILE: (ctx) => personal(ctx, path(ctx, 'PROFILE_PATH')),
  },
  {
    /**
     * AUTHORIZE checks the token itself: an unknown token is refused (401); a privacy exception still proves the
     * token good, since consent is asked for on CALL. It reads the profile, which uses up a one-time consent
     * the user may have given for that family.
     */
    async checkKey(ctx) {
      const res = await ctx.request({ url: path(ctx, 'PROFILE_PATH'), auth: 'bearer', accept: [401, 403, 500] });
      return res.status === 401 ? 'Orange does not know this token' : true;
    },
  },
);
