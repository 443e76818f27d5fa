/**
 * Orange's Personal APIs behind the privacy-consent redirect (docs/plugins/orange.md). The document names no
 * host and no resource: the defaults are placeholders an admin replaces (BASE_URL, and each resource's path
 * as a setting).
 */
import type { PluginDefinition } from '../../src/sdk/index.js';

export const definition = {
  name: 'orange',
  description: 'Orange Personal APIs: a user\'s data, once the user has consented on Orange\'s privacy page.',
  baseUrl: 'https://api.orange.example',
  authType: 'consent',
  auth: { consent: {} },
  settings: {
    CONTACT_PATH: { type: 'text', default: '/personal/contact', doc: 'Path of the contact resource (family contact).' },
    PROFILE_PATH: { type: 'text', default: '/personal/profile', doc: 'Path of the profile resource (family profile).' },
  },
  methods: {
    GETCONTACTS: { doc: 'The user\'s contact data. The first call may answer CONSENT_REQUIRED.', idempotent: true, params: {} },
    GETPROFILE: { doc: 'The user\'s profile. The first call may answer CONSENT_REQUIRED.', idempotent: true, params: {} },
  },
} as const satisfies PluginDefinition;
