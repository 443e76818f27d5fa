/**
 * @module plugins/linkedin/definition
 * LinkedIn as data: Sign In with LinkedIn using OpenID Connect (userinfo) and Share on LinkedIn (the
 * versioned Posts API), both on the member's OAuth 2.0 token. LinkedIn has no RFC 7009 revocation endpoint,
 * so there is no revokeUrl: a member ends the app's access from their LinkedIn settings.
 */
import type { PluginDefinition } from '../../src/sdk/index.js';

/** LinkedIn's documented limit on a post's commentary, in characters. */
export const MAX_COMMENTARY = 3000;

export const definition = {
  name: 'linkedin',
  description: "LinkedIn: the signed-in member's OpenID Connect profile, and text posts on their feed.",
  baseUrl: 'https://api.linkedin.com',
  authType: 'oauth2',
  auth: {
    oauth2: {
      authorizeUrl: 'https://www.linkedin.com/oauth/v2/authorization',
      tokenUrl: 'https://www.linkedin.com/oauth/v2/accessToken',
      scopes: 'openid profile email w_member_social',
    },
  },
  settings: {
    API_VERSION: {
      type: 'text',
      // LinkedIn serves each monthly version for about a year, then answers 426: keep this current.
      default: '202607',
      doc: 'LinkedIn API version (YYYYMM, or YYYYMM.RR) sent as LinkedIn-Version on /rest calls. LinkedIn releases a version every month and retires each about a year later; update it before it is retired.',
    },
  },
  methods: {
    GETPROFILE: {
      doc: "The member's OpenID Connect userinfo (GET /v2/userinfo): sub, name, given_name, family_name, picture, email, email_verified, locale.",
      params: {},
      idempotent: true,
    },
    POSTMESSAGE: {
      doc: "Publishes a text post on the member's feed (GET /v2/userinfo for the author, then POST /rest/posts); returns the post's URN as id, author and visibility.",
      params: {
        TEXT: {
          type: 'text',
          required: true,
          maxLength: MAX_COMMENTARY,
          doc: "The post's text, posted as written (nori escapes LinkedIn's reserved characters); at most 3000 characters.",
        },
        VISIBILITY: {
          type: 'enum',
          values: ['PUBLIC', 'CONNECTIONS'],
          doc: "Who may see the post: PUBLIC (anyone, the default) or CONNECTIONS (the member's 1st-degree network).",
        },
      },
    },
  },
} as const satisfies PluginDefinition;
