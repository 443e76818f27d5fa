/**
 * @module cli/scaffold
 * `nori plugin new <name>`: a working plugin folder with its test, which a new plugin author runs at once and
 * then changes. Inside a nori checkout the files import nori's sources by relative path; elsewhere, 'nori'.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const NAME = /^[a-z][a-z0-9-]{0,63}$/;

export class ScaffoldError extends Error {
  override name = 'ScaffoldError';
}

/** The nori checkout `folder` lies in, if any: where package.json names nori and its sources are. */
function noriCheckout(folder: string): string | undefined {
  for (let dir = resolve(folder); ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && existsSync(join(dir, 'src', 'sdk', 'index.ts')) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'nori') return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

const importPath = (from: string, to: string) => {
  const r = relative(from, to).split(sep).join('/');
  return r.startsWith('.') ? r : `./${r}`;
};

const definitionTs = (name: string, sdk: string) => `/**
 * The ${name} service as data: where it is, how accounts are authorized, and each CALL method with its
 * parameters. nori checks this when it starts and checks every CALL against it. See docs/plugins.md.
 */
import type { PluginDefinition } from '${sdk}';

export const definition = {
  name: '${name}',
  description: 'TODO: say what ${name} is, for people.',
  // The production address; a deployment or a test points the WEBAPI elsewhere with BASE_URL.
  baseUrl: 'https://api.${name}.example',
  authType: 'apikey',
  auth: { apikey: {} },
  methods: {
    GETPROFILE: { doc: 'The account the key belongs to.', idempotent: true, params: {} },
    POSTMESSAGE: {
      doc: 'Posts a message on the account.',
      params: { TEXT: { type: 'text', required: true, maxLength: 500, doc: 'The message, at most 500 characters.' } },
    },
  },
} as const satisfies PluginDefinition;
`;

const indexTs = (name: string, sdk: string) => `/**
 * The ${name} methods. nori gives each one its checked parameters and a request function (deadlines, retries,
 * errors as MESSAGEs); this service takes its API key in a header.
 */
import { definePlugin, type ServiceContext } from '${sdk}';
import { definition } from './definition.js';

const keyHeader = (ctx: ServiceContext) => ({ 'x-api-key': ctx.credentials.token ?? '' });

export default definePlugin(
  definition,
  {
    GETPROFILE: async (ctx) => (await ctx.request({ url: '/me', headers: keyHeader(ctx) })).json(),
    POSTMESSAGE: async (ctx) => (await ctx.request({ method: 'POST', url: '/messages', headers: keyHeader(ctx), json: { text: ctx.params.TEXT } })).json(),
  },
  {
    // AUTHORIZE of an API key: nori asks the service whether the key is good before the account is authorized.
    async checkKey(ctx) {
      const res = await ctx.request({ url: '/me', headers: keyHeader(ctx), accept: [401, 403] });
      return res.status === 200 ? true : 'the service does not know this key';
    },
  },
);
`;

const testTs = (name: string, nori: string) => `/**
 * ${name} end to end: a real HTTP service on 127.0.0.1 playing ${name}, and nori running XML batches against it.
 * Change the service and the assertions as the plugin grows.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createEngine, type Engine } from '${nori}';

const principal = { contactId: 7, groups: [], admin: false };

describe('${name} plugin', () => {
  let service: Server;
  let engine: Engine;
  const posted: unknown[] = [];

  before(async () => {
    service = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        if (req.headers['x-api-key'] !== 'good-key') return void res.writeHead(401).end('{"error":"unknown key"}');
        if (req.method === 'GET' && req.url === '/me') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"name":"Ada","id":42}');
        if (req.method === 'POST' && req.url === '/messages') {
          posted.push(JSON.parse(body));
          return void res.writeHead(201, { 'content-type': 'application/json' }).end('{"id":"m1"}');
        }
        res.writeHead(404).end();
      });
    });
    await new Promise<void>((r) => service.listen(0, '127.0.0.1', r));
    engine = await createEngine({
      secretKeys: [randomBytes(32).toString('base64')],
      plugins: { builtins: false, folders: [fileURLToPath(new URL('.', import.meta.url))] },
      webapis: { '${name}': { fields: { BASE_URL: \`http://127.0.0.1:\${(service.address() as AddressInfo).port}\` }, settings: {} } },
    });
  });
  after(async () => {
    await engine?.close();
    service?.close();
  });

  const run = (...commands: string[]) => engine.execute(\`<QUERY>\${commands.join('')}</QUERY>\`, principal);
  const account = async (key: string) => Number(/elementID="(\\d+)"/.exec(await run(\`<CREATE><WEBACCOUNT><INFO><API>${name}</API><TOKEN>\${key}</TOKEN></INFO></WEBACCOUNT></CREATE>\`))![1]);

  it('authorizes a good key, then calls every method', async () => {
    const id = await account('good-key');
    assert.match(await run(\`<AUTHORIZE><WEBACCOUNT ID="\${id}"/></AUTHORIZE>\`), /msgType="0"[^>]*>WEBACCOUNT \\d+ is authorized/);
    assert.match(await run(\`<CALL><WEBACCOUNT ID="\${id}"><GETPROFILE/></WEBACCOUNT></CALL>\`), /<GETPROFILE><name>Ada<\\/name><id>42<\\/id><\\/GETPROFILE>/);
    assert.match(await run(\`<CALL><WEBACCOUNT ID="\${id}"><POSTMESSAGE><TEXT>Hello</TEXT></POSTMESSAGE></WEBACCOUNT></CALL>\`), /<POSTMESSAGE><id>m1<\\/id><\\/POSTMESSAGE>/);
    assert.deepEqual(posted, [{ text: 'Hello' }]);
  });

  it('refuses a key the service does not know, and parameters the definition does not allow', async () => {
    const id = await account('wrong-key');
    assert.match(await run(\`<AUTHORIZE><WEBACCOUNT ID="\${id}"/></AUTHORIZE>\`), /errorCode="KEY_REJECTED"/);
    assert.match(await run(\`<CALL><WEBACCOUNT ID="\${id}"><POSTMESSAGE><TITLE>x</TITLE></POSTMESSAGE></WEBACCOUNT></CALL>\`), /errorCode="PARAM_UNKNOWN"/);
  });
});
`;

/** Writes plugins/<name>/ (definition, implementation, test); returns the files written. */
export function scaffoldPlugin(name: string, dir: string): string[] {
  if (!NAME.test(name)) throw new ScaffoldError(`a plugin name is lower case letters, digits and dashes, starting with a letter, not "${name}"`);
  const folder = resolve(dir, name);
  if (existsSync(folder)) throw new ScaffoldError(`${folder} already exists`);
  const root = noriCheckout(dir);
  const sdk = root ? importPath(folder, join(root, 'src', 'sdk', 'index.js')) : 'nori';
  const nori = root ? importPath(folder, join(root, 'src', 'index.js')) : 'nori';
  mkdirSync(folder, { recursive: true });
  const files: [string, string][] = [
    ['definition.ts', definitionTs(name, sdk)],
    ['index.ts', indexTs(name, sdk)],
    [`${name}.test.ts`, testTs(name, nori)],
  ];
  for (const [file, text] of files) writeFileSync(join(folder, file), text, { flag: 'wx' });
  return files.map(([file]) => join(folder, file));
}
