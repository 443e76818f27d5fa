import assert from 'node:assert/strict';
import type { Principal } from '../../src/principal.js';
import { ADMIN, ALICE, BOB, CAROL, useEngine } from '../helpers/engine.js';
import { seedAccount, seedApi } from '../helpers/seed.js';
import { only, q, type Reply } from '../helpers/xml.js';

type Expect = 'ok' | 'NOT_VISIBLE' | 'FORBIDDEN';

/** Who, on an account owned by ALICE with these settings, may read and write. BOB shares group 10 with ALICE. */
const MATRIX: { who: [string, Principal]; group: boolean; pub: 'W' | 'R' | '0'; read: Expect; write: Expect }[] = [
  { who: ['owner', ALICE], group: false, pub: '0', read: 'ok', write: 'ok' },
  { who: ['admin', ADMIN], group: false, pub: '0', read: 'ok', write: 'ok' },
  { who: ['group member', BOB], group: true, pub: '0', read: 'ok', write: 'FORBIDDEN' },
  { who: ['member of another group', BOB], group: false, pub: '0', read: 'NOT_VISIBLE', write: 'NOT_VISIBLE' },
  { who: ['stranger', CAROL], group: true, pub: '0', read: 'NOT_VISIBLE', write: 'NOT_VISIBLE' },
  { who: ['stranger', CAROL], group: false, pub: 'R', read: 'ok', write: 'FORBIDDEN' },
  { who: ['stranger', CAROL], group: false, pub: 'W', read: 'ok', write: 'FORBIDDEN' },
];

function outcome(r: Reply): Expect | string {
  if (r.tag === 'RESULTS' || r.attrs.msgType === '0') return 'ok';
  if (r.attrs.msgType === '3') return r.attrs.errorCode!;
  return `unexpected ${r.attrs.errorCode}`;
}

describe('permissions', () => {
  const t = useEngine();
  const run = async (xml: string, who: Principal) => only(await t.engine.execute(q(xml), who));

  beforeEach(async () => {
    await seedApi(t.engine);
  });

  for (const row of MATRIX) {
    const [label, who] = row.who;
    it(`${label}, GROUPID ${row.group ? 'shared' : 'unset'}, PUBLIC=${row.pub}: read ${row.read}, write ${row.write}`, async () => {
      const extra = `<PUBLIC>${row.pub}</PUBLIC>${row.group ? '<GROUPID>10</GROUPID>' : ''}`;
      const id = await seedAccount(t.engine, ALICE, 'twitter', extra);
      assert.equal(outcome(await run(`<GET><WEBACCOUNT ID="${id}"/></GET>`, who)), row.read);
      const found = await run('<SEARCH><WEBACCOUNT/></SEARCH>', who);
      assert.equal(found.elements.length, row.read === 'ok' ? 1 : 0, 'SEARCH shows exactly what GET may read');
      const count = await run('<COUNT><WEBACCOUNT/></COUNT>', who);
      assert.equal(count.attrs.hits, row.read === 'ok' ? '1' : '0');
      assert.equal(outcome(await run(`<UPDATE><WEBACCOUNT ID="${id}"><INFO><LOGIN>x</LOGIN></INFO></WEBACCOUNT></UPDATE>`, who)), row.write);
      assert.equal(outcome(await run(`<DELETE><WEBACCOUNT ID="${id}"/></DELETE>`, who)), row.write);
      assert.equal(outcome(await run(`<KILL><WEBACCOUNT ID="${id}"/></KILL>`, who)), row.write);
      const left = await t.engine.database.knex('webaccount').where('id', id);
      assert.equal(left.length, row.write === 'ok' ? 0 : 1, 'a refused KILL leaves the row');
    });
  }

  it('a hidden element and a missing one answer alike to a stranger', async () => {
    const id = await seedAccount(t.engine, ALICE);
    const hidden = await run(`<GET><WEBACCOUNT ID="${id}"/></GET>`, CAROL);
    const missing = await run('<GET><WEBACCOUNT ID="999"/></GET>', CAROL);
    assert.equal(hidden.attrs.errorCode, missing.attrs.errorCode);
    assert.equal(hidden.attrs.msgType, '3');
    assert.equal(hidden.text.replace(String(id), 'N'), missing.text.replace('999', 'N'));
  });

  it('a list with one hidden element is refused whole', async () => {
    const mine = await seedAccount(t.engine, CAROL);
    const hers = await seedAccount(t.engine, ALICE);
    const r = await run(`<GET><WEBACCOUNT ID="${mine},${hers}"/></GET>`, CAROL);
    assert.equal(r.attrs.errorCode, 'NOT_VISIBLE');
    assert.equal(r.attrs.elementID, `${mine},${hers}`);
  });

  it('WEBAPI: everyone reads, only admins write', async () => {
    assert.equal(outcome(await run('<GET><WEBAPI ID="1"/></GET>', CAROL)), 'ok');
    for (const xml of ['<UPDATE><WEBAPI ID="1"><INFO><SCOPES>x</SCOPES></INFO></WEBAPI></UPDATE>', '<DELETE><WEBAPI ID="1"/></DELETE>', '<KILL><WEBAPI ID="1"/></KILL>']) {
      const r = await run(xml, ALICE);
      assert.equal(r.attrs.errorCode, 'ADMIN_ONLY', xml);
      assert.equal(r.attrs.msgType, '3');
    }
    assert.equal(outcome(await run('<UPDATE><WEBAPI ID="1"><INFO><SCOPES>x</SCOPES></INFO></WEBAPI></UPDATE>', ADMIN)), 'ok');
  });

  it('an owner cannot give the element away; a new owner an admin sets takes it away from its creator', async () => {
    const id = await seedAccount(t.engine, ALICE);
    assert.equal(outcome(await run(`<UPDATE><WEBACCOUNT ID="${id}"><INFO><OWNERID>4</OWNERID></INFO></WEBACCOUNT></UPDATE>`, ALICE)), 'OWNER_FORBIDDEN');
    assert.equal(outcome(await run(`<UPDATE><WEBACCOUNT ID="${id}"><INFO><OWNERID>4</OWNERID></INFO></WEBACCOUNT></UPDATE>`, ADMIN)), 'ok');
    assert.equal(outcome(await run(`<GET><WEBACCOUNT ID="${id}"/></GET>`, ALICE)), 'NOT_VISIBLE');
    assert.equal(outcome(await run(`<GET><WEBACCOUNT ID="${id}"/></GET>`, CAROL)), 'ok');
  });
});
