/**
 * @module plugins/linkedin
 * LinkedIn's member profile (OpenID Connect userinfo) and text posts (versioned Posts API). LinkedIn's errors
 * are `{status, serviceErrorCode, code?, message}`; the hook below passes its code and message on, and turns
 * a retired API version into a message an admin can act on.
 */
import { definePlugin, ServiceError, type ResultValue, type ServiceFailure, type ServiceResponse } from '../../src/sdk/index.js';
import { definition } from './definition.js';

/** What the "little" text format reserves for mentions, hashtags and templates (LinkedIn: little text format). */
const RESERVED = /[\\|{}@[\]()<>#*_~]/g;

/**
 * A post's commentary in LinkedIn's "little" format: every reserved character backslash-escaped, so the text
 * shows as written. Unescaped, LinkedIn reads `(`, `@[`, `{`… as markup and may cut the post at the first one.
 * @example
 * littleText('Hi (all) #1') // 'Hi \\(all\\) \\#1'
 */
export const littleText = (text: string): string => text.replace(RESERVED, '\\$&');

/** Version refusals are the WEBAPI's configuration, fixed by an admin rather than by the caller. */
const VERSION_CODES: ReadonlySet<string> = new Set(['NONEXISTENT_VERSION', 'INVALID_VERSION', 'VERSION_MISSING']);
const VERSION_HINT = "an admin must set the WEBAPI's API_VERSION setting to a version LinkedIn still serves (YYYYMM)";

/** LinkedIn's error body: the readable `code` when it sends one, else the numeric serviceErrorCode, kept as data. */
function serviceError(res: ServiceResponse): ServiceFailure | undefined {
  const b = res.jsonObject();
  if (b === undefined) return undefined;
  const code = typeof b.code === 'string' && b.code ? b.code : undefined;
  const numeric = typeof b.serviceErrorCode === 'number' ? String(b.serviceErrorCode) : undefined;
  // 422 messages end with a newline ("ERROR :: /field :: …\n").
  const said = typeof b.message === 'string' ? b.message.trim() : undefined;
  const version = res.status === 426 || (code !== undefined && VERSION_CODES.has(code));
  const message = version ? `${said ?? 'LinkedIn refused the API version'}; ${VERSION_HINT}` : said;
  if (code === undefined && numeric === undefined && message === undefined) return undefined;
  return { error: code ?? numeric ?? 'error', message, data: numeric };
}

export default definePlugin(
  definition,
  {
    GETPROFILE: async ({ request }) => (await request({ url: '/v2/userinfo' })).json<ResultValue>(),

    POSTMESSAGE: async ({ params, request, api }) => {
      // A post needs its author's person URN, and an OpenID app learns the member's id only from userinfo.
      // Reading it is safe to retry even though the post itself is not.
      const profile = (await request({ url: '/v2/userinfo', idempotent: true })).json<{ sub?: unknown } | null>();
      if (typeof profile?.sub !== 'string' || profile.sub === '') throw new ServiceError({ error: 'no_sub', message: 'userinfo answered without the member id (sub)' }, 200);
      const author = `urn:li:person:${profile.sub}`;
      const visibility = params.VISIBILITY ?? 'PUBLIC';
      const res = await request({
        method: 'POST',
        url: '/rest/posts',
        headers: { 'LinkedIn-Version': api.settings.API_VERSION ?? '', 'X-Restli-Protocol-Version': '2.0.0' },
        json: {
          author,
          commentary: littleText(params.TEXT),
          visibility,
          distribution: { feedDistribution: 'MAIN_FEED', targetEntities: [], thirdPartyDistributionChannels: [] },
          lifecycleState: 'PUBLISHED',
          isReshareDisabledByAuthor: false,
        },
      });
      // 201 with an empty body: the new post's URN comes only in this header.
      const id = res.headers['x-restli-id'];
      if (!id) throw new ServiceError({ error: 'no_id', message: `LinkedIn answered ${res.status} without the post's URN (x-restli-id)` }, res.status);
      return { id, author, visibility };
    },
  },
  { serviceError },
);
