/**
 * @module bench/plugins/bench
 * The benchmarks' service: an API key in a header, one method that echoes a text. AUTHORIZE checks the key
 * with the service (checkKey), so an account is authorized without a browser.
 */
import { definePlugin, type ServiceContext } from '../../../src/sdk/index.js';

const keyHeader = (ctx: ServiceContext) => ({ 'x-api-key': ctx.credentials.token ?? '' });

export default definePlugin(
  {
    name: 'bench',
    description: 'The benchmark peer: echoes a text back.',
    baseUrl: 'https://bench.invalid',
    authType: 'apikey',
    auth: { apikey: {} },
    methods: {
      ECHO: { doc: 'Answers the text it was sent.', idempotent: true, params: { TEXT: { type: 'text', required: true, maxLength: 200, doc: 'Any text.' } } },
    },
  },
  {
    ECHO: async (ctx) => (await ctx.request({ url: '/echo', query: { text: ctx.params.TEXT }, headers: keyHeader(ctx) })).json(),
  },
  {
    async checkKey(ctx) {
      const res = await ctx.request({ url: '/me', headers: keyHeader(ctx), accept: [401, 403] });
      return res.status === 200 ? true : 'the peer does not know this key';
    },
  },
);
