/**
 * @module plugins/twitter/definition
 * X (Twitter) API v2 as data: posting and deleting posts, the user's profile and their recent posts. OAuth 1.0a
 * user context is the default because it needs no refresh and every X app has it; OAuth 2.0 (authorization code
 * with PKCE) is the alternative an admin picks with AUTH_TYPE oauth2. Both sign the same /2/ endpoints.
 */
import type { PluginDefinition } from '../../src/sdk/index.js';

/** X's documented limit on a post's text. X weighs some characters double (CJK, emoji) and URLs as 23. */
export const MAX_TEXT = 280;

export const definition = {
  name: 'twitter',
  description: 'X (Twitter) API v2: post and delete posts, read the user\'s profile and recent posts.',
  baseUrl: 'https://api.x.com',
  authType: 'oauth1',
  auth: {
    oauth1: {
      requestTokenUrl: 'https://api.x.com/oauth/request_token',
      authorizeUrl: 'https://api.x.com/oauth/authorize',
      tokenUrl: 'https://api.x.com/oauth/access_token',
    },
    oauth2: {
      authorizeUrl: 'https://x.com/i/oauth2/authorize',
      tokenUrl: 'https://api.x.com/2/oauth2/token',
      revokeUrl: 'https://api.x.com/2/oauth2/revoke',
      // offline.access: without it X issues no refresh token and the access token dies after two hours.
      scopes: 'tweet.read tweet.write users.read offline.access',
    },
  },
  methods: {
    POSTMESSAGE: {
      doc: 'Publishes a post (POST /2/tweets); returns X\'s data: id, text, edit_history_tweet_ids. Not retried after a timeout or a 5xx, since the post may exist.',
      params: {
        TEXT: {
          type: 'text',
          required: true,
          maxLength: MAX_TEXT,
          doc: 'The post\'s text, at most 280 characters (X may still refuse text it weighs as longer, e.g. many emoji).',
        },
        REPLY_TO: { type: 'text', maxLength: 19, doc: 'The id of a post to answer (digits only): sent as reply.in_reply_to_tweet_id.' },
      },
    },
    DELETEMESSAGE: {
      doc: 'Deletes one of the user\'s posts (DELETE /2/tweets/:id); returns X\'s data: deleted (false when there was no such post).',
      idempotent: true,
      params: { ID: { type: 'text', required: true, maxLength: 19, doc: 'The post\'s id (digits only).' } },
    },
    GETPROFILE: {
      doc: 'The user (GET /2/users/me with user.fields created_at, description, location, protected, url, verified); returns X\'s data: id, name, username and those fields X has.',
      idempotent: true,
      params: {},
    },
    GETFEED: {
      doc: 'One page of the user\'s recent posts, newest first (GET /2/users/:id/tweets; the id comes from GET /2/users/me, looked up once per token); returns tweets (id, text, created_at, edit_history_tweet_ids), result_count and, while more remain, next_token.',
      idempotent: true,
      params: {
        MAX_RESULTS: { type: 'integer', min: 5, max: 100, doc: 'Posts per page, 5 to 100; default 10.' },
        PAGE_TOKEN: { type: 'text', maxLength: 512, doc: 'The next_token of the previous page, to read the page after it.' },
      },
    },
  },
} as const satisfies PluginDefinition;
