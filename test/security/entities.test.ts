/**
 * Entity attacks over HTTP: billion laughs, quadratic blow-up, external entities and DTDs (file and http),
 * parameter entities, XInclude. Every DOCTYPE is refused at once with XML_FORBIDDEN_DECLARATION; nothing is
 * expanded, no file is read, no URL is fetched.
 */
import assert from 'node:assert/strict';
import pino from 'pino';
import type { Engine } from '../../src/engine.js';
import { createServer } from '../../src/http/server.js';
import { ADMIN, makeEngine } from '../helpers/engine.js';
import { expectError, only, replies } from '../helpers/xml.js';
import { json, startPeer, type Peer } from '../peers/http-peer.js';

const lol = (levels: number) => {
  const decls = ['<!ENTITY lol0 "lol">'];
  for (let i = 1; i < levels; i++) decls.push(`<!ENTITY lol${i} "${`&lol${i - 1};`.repeat(10)}">`);
  return `<?xml version="1.0"?><!DOCTYPE QUERY [${decls.join('')}]><QUERY><CREATE><WEBACCOUNT><INFO><API>x</API><DENOMINATION>&lol${levels - 1};</DENOMINATION></INFO></WEBACCOUNT></CREATE></QUERY>`;
};

describe('security: entity expansion and external entities', () => {
  let engine: Engine;
  let trap: Peer;
  let base: string;
  let key: string;
  let close: () => Promise<void>;
  const post = async (body: string, type = 'application/xml') => {
    const started = process.hrtime.bigint();
    const res = await fetch(base, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': type }, body });
    const text = await res.text();
    return { status: res.status, text, ms: Number(process.hrtime.bigint() - started) / 1e6 };
  };

  before(async function () {
    this.timeout(60_000);
    trap = await startPeer(() => json(200, { trapped: true }));
    engine = await makeEngine({ plugins: { builtins: false } });
    const app = createServer({ engine, logger: pino({ level: 'silent' }), maxBodyBytes: 1 << 20 });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    key = (await engine.keys.create({ contactId: ADMIN.contactId, admin: true })).key;
    close = async () => {
      await app.close();
      await engine.close();
      await trap.close();
    };
  });
  after(() => close());

  const attacks: Record<string, () => string> = {
    'billion laughs (10 levels, 10^9 lols)': () => lol(10),
    'quadratic blow-up (one 100 kB entity referenced 1,000 times)': () => `<!DOCTYPE QUERY [<!ENTITY a "${'a'.repeat(100_000)}">]><QUERY><COUNT><WEBAPI><INFO><DESCRIPTION>${'&a;'.repeat(1000)}</DESCRIPTION></INFO></WEBAPI></COUNT></QUERY>`,
    'an external entity reading a file': () => '<?xml version="1.0"?><!DOCTYPE QUERY [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><QUERY><CREATE><WEBACCOUNT><INFO><API>x</API><DENOMINATION>&xxe;</DENOMINATION></INFO></WEBACCOUNT></CREATE></QUERY>',
    'an external entity fetching a URL': () => `<!DOCTYPE QUERY [<!ENTITY xxe SYSTEM "${trap.url}/entity">]><QUERY>&xxe;</QUERY>`,
    'an external entity in an attribute value': () => `<!DOCTYPE QUERY [<!ENTITY xxe SYSTEM "${trap.url}/attribute">]><QUERY><GET name="&xxe;"><WEBAPI ID="1"/></GET></QUERY>`,
    'a parameter entity loading a remote DTD': () => `<!DOCTYPE QUERY [<!ENTITY % dtd SYSTEM "${trap.url}/evil.dtd"> %dtd;]><QUERY/>`,
    'an external DTD subset': () => `<!DOCTYPE QUERY SYSTEM "${trap.url}/subset.dtd"><QUERY/>`,
    'a public identifier': () => `<!DOCTYPE QUERY PUBLIC "-//EVIL//DTD//EN" "${trap.url}/public.dtd"><QUERY/>`,
    'an internal entity hidden after a comment and a PI': () => '<!-- hello --><?pi x?><!DOCTYPE QUERY [<!ENTITY e "x">]><QUERY>&e;</QUERY>',
  };

  for (const [name, build] of Object.entries(attacks)) {
    it(`refuses ${name}: XML_FORBIDDEN_DECLARATION, nothing expanded or fetched, at once`, async () => {
      for (const type of ['application/xml', 'application/x-www-form-urlencoded']) {
        const xml = build();
        const r = await post(type === 'application/xml' ? xml : new URLSearchParams({ NQL: xml }).toString(), type);
        assert.equal(r.status, 400, r.text.slice(0, 300));
        const reply = expectError(only(r.text), 'XML_FORBIDDEN_DECLARATION');
        assert.match(reply.text, /DOCTYPE and entity declarations are refused/);
        assert.ok(r.text.length < 1000, `a short answer, not an expansion (${r.text.length} bytes)`);
        assert.ok(!/lollol|aaaa|root:|trapped/.test(r.text), r.text);
        assert.ok(r.ms < 500, `answered in ${r.ms.toFixed(0)} ms`);
      }
      assert.equal(trap.count(), 0, 'no URL of the document was fetched');
      assert.equal(Number(((await engine.database.knex('webaccount').count({ n: '*' })) as { n: string }[])[0]!.n), 0, 'nothing was written');
    });
  }

  it('without a DOCTYPE, an entity reference is undefined (XML_MALFORMED), and XInclude is only an unknown command', async () => {
    const undefinedRef = await post('<QUERY><COUNT><WEBAPI><INFO><DESCRIPTION>&xxe;</DESCRIPTION></INFO></WEBAPI></COUNT></QUERY>');
    assert.equal(undefinedRef.status, 400);
    assert.match(expectError(only(undefinedRef.text), 'XML_MALFORMED').text, /undefined entity/);
    const xinclude = await post(`<QUERY xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="${trap.url}/xinclude" parse="text"/></QUERY>`);
    assert.equal(xinclude.status, 400, 'QUERY takes no namespace declaration');
    expectError(only(xinclude.text), 'QUERY_ATTRIBUTE');
    const bare = await post(`<QUERY><xi:include href="${trap.url}/xinclude" parse="text"/></QUERY>`);
    assert.equal(bare.status, 200);
    expectError(replies(bare.text)[0]!, 'UNKNOWN_VERB');
    assert.equal(trap.count(), 0);
  });
});
