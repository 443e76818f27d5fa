import assert from 'node:assert/strict';
import { ADMIN, ALICE, useEngine } from '../helpers/engine.js';
import { seedAccount, seedApi } from '../helpers/seed.js';
import { expectError, expectOk, only, q, qa, replies } from '../helpers/xml.js';

describe('UPDATE, DELETE and KILL', () => {
  const t = useEngine();
  const run = async (xml: string, who = ALICE) => only(await t.engine.execute(q(xml), who));
  const field = async (id: number, name: string) => (await run(`<GET><WEBACCOUNT ID="${id}"/></GET>`, ADMIN)).elements[0]!.fields[name];

  beforeEach(async () => {
    await seedApi(t.engine, 'twitter');
    await seedAccount(t.engine, ALICE, 'twitter', '<DENOMINATION>one</DENOMINATION>');
    await seedAccount(t.engine, ALICE, 'twitter', '<DENOMINATION>two</DENOMINATION>');
    await seedAccount(t.engine, ALICE, 'twitter', '<DENOMINATION>three</DENOMINATION>');
  });

  it('runs the batch of the brief, each command answering in order', async () => {
    const all = replies(await t.engine.execute(`<QUERY>
  <CREATE name="mine"><WEBACCOUNT><INFO><DENOMINATION>My twitter account</DENOMINATION><API>twitter</API></INFO></WEBACCOUNT></CREATE>
  <SEARCH name="list"><WEBACCOUNT><INFO><API>twitter</API></INFO></WEBACCOUNT><PAGINATE display="20" page="1"/><SORT select="CREATIONDATE" order="descending"/></SEARCH>
  <UPDATE><WEBACCOUNT ID="2"><INFO><DENOMINATION>Renamed</DENOMINATION></INFO></WEBACCOUNT></UPDATE>
  <GET><WEBACCOUNT ID="2,3"/></GET>
  <DELETE><WEBACCOUNT ID="3"/></DELETE>
</QUERY>`, ALICE));
    assert.deepEqual(all.map((r) => r.tag), ['MESSAGE', 'RESULTS', 'MESSAGE', 'RESULTS', 'MESSAGE']);
    assert.equal(all[0]!.attrs.elementID, '4');
    assert.equal(all[1]!.attrs.name, 'list');
    assert.equal(all[1]!.attrs.hits, '4');
    assert.equal(all[3]!.elements[0]!.fields.DENOMINATION, 'Renamed');
    assert.equal(all[4]!.attrs.msgType, '0');
    assert.equal(await field(3, 'ACTIVITY'), '0');
  });

  it('UPDATE by ID list changes each, sets MODIFIERID and moves MODIFICATIONDATE forward', async () => {
    const before = await field(1, 'MODIFICATIONDATE');
    expectOk(await run('<UPDATE><WEBACCOUNT ID="1,2"><INFO><LOGIN>x</LOGIN><PUBLIC>R</PUBLIC></INFO></WEBACCOUNT></UPDATE>', ADMIN));
    for (const id of [1, 2]) {
      assert.equal(await field(id, 'LOGIN'), 'x');
      assert.equal(await field(id, 'MODIFIERID'), '1');
    }
    assert.ok((await field(1, 'MODIFICATIONDATE'))! > before!);
    assert.equal(await field(3, 'LOGIN'), '');
  });

  it('an empty field clears it; a required one cannot be cleared', async () => {
    expectOk(await run('<UPDATE><WEBACCOUNT ID="1"><INFO><DENOMINATION></DENOMINATION></INFO></WEBACCOUNT></UPDATE>'));
    assert.equal(await field(1, 'DENOMINATION'), '');
    expectError(await run('<UPDATE><WEBACCOUNT ID="1"><INFO><API></API></INFO></WEBACCOUNT></UPDATE>'), 'MISSING_FIELD');
    expectError(await run('<UPDATE><WEBACCOUNT ID="1"><INFO/></WEBACCOUNT></UPDATE>'), 'MISSING_ELEMENT');
    expectError(await run('<UPDATE><WEBACCOUNT ID="1"><INFO><AUTHORIZATION_STATE>requested</AUTHORIZATION_STATE></INFO></WEBACCOUNT></UPDATE>'), 'STATE_READONLY');
    expectError(await run('<UPDATE><WEBACCOUNT ID="1"><INFO><AUTHORIZATION_STATE>revoked</AUTHORIZATION_STATE><LOGIN>x</LOGIN></INFO></WEBACCOUNT></UPDATE>'), 'STATE_READONLY');
  });

  it('optimistic locking: the MODIFICATIONDATE read lets the update through once; a stale one fails', async () => {
    const read = await field(1, 'MODIFICATIONDATE');
    const upd = (name: string, date: string) => run(`<UPDATE><WEBACCOUNT ID="1"><INFO><MODIFICATIONDATE>${date}</MODIFICATIONDATE><DENOMINATION>${name}</DENOMINATION></INFO></WEBACCOUNT></UPDATE>`);
    expectOk(await upd('first', read!));
    const r = expectError(await upd('second', read!), 'MODIFIED_SINCE');
    assert.match(r.text, /WEBACCOUNT 1 was modified at .* after the MODIFICATIONDATE/);
    assert.equal(await field(1, 'DENOMINATION'), 'first');
    expectOk(await upd('third', (await field(1, 'MODIFICATIONDATE'))!));
  });

  it('ISLOCKED refuses UPDATE, DELETE and KILL until unlocked', async () => {
    expectOk(await run('<UPDATE><WEBACCOUNT ID="1"><INFO><ISLOCKED>1</ISLOCKED></INFO></WEBACCOUNT></UPDATE>'));
    expectError(await run('<UPDATE><WEBACCOUNT ID="1"><INFO><LOGIN>x</LOGIN></INFO></WEBACCOUNT></UPDATE>'), 'LOCKED');
    expectError(await run('<DELETE><WEBACCOUNT ID="1"/></DELETE>'), 'LOCKED');
    expectError(await run('<KILL><WEBACCOUNT ID="1,2"/></KILL>'), 'LOCKED');
    assert.equal(await field(2, 'ACTIVITY'), '1', 'a refused ID list leaves every element as it was');
    expectOk(await run('<UPDATE><WEBACCOUNT ID="1"><INFO><ISLOCKED>0</ISLOCKED></INFO></WEBACCOUNT></UPDATE>'));
    expectOk(await run('<KILL><WEBACCOUNT ID="1"/></KILL>'));
  });

  it('DELETE is soft and restorable; KILL removes the row', async () => {
    expectOk(await run('<DELETE><WEBACCOUNT ID="1"/></DELETE>'));
    assert.equal(await field(1, 'ACTIVITY'), '0');
    expectOk(await run('<UPDATE><WEBACCOUNT ID="1"><INFO><ACTIVITY>1</ACTIVITY></INFO></WEBACCOUNT></UPDATE>'));
    assert.equal(await field(1, 'ACTIVITY'), '1');
    const k = expectOk(await run('<KILL><WEBACCOUNT ID="1"/></KILL>'));
    assert.match(k.text, /removed permanently/);
    const rows = await t.engine.database.knex('webaccount').where('id', 1);
    assert.equal(rows.length, 0);
    expectError(await run('<GET><WEBACCOUNT ID="1"/></GET>', ADMIN), 'NOT_FOUND');
  });

  it('a WEBAPI named by accounts cannot be deleted, killed or renamed', async () => {
    expectError(await run('<DELETE><WEBAPI ID="1"/></DELETE>', ADMIN), 'STILL_REFERENCED');
    expectError(await run('<UPDATE><WEBAPI ID="1"><INFO><DENOMINATION>x</DENOMINATION></INFO></WEBAPI></UPDATE>', ADMIN), 'STILL_REFERENCED');
    expectOk(await run('<DELETE><WEBACCOUNT ID="1,2,3"/></DELETE>'));
    expectOk(await run('<DELETE><WEBAPI ID="1"/></DELETE>', ADMIN));
    expectError(await run('<KILL><WEBAPI ID="1"/></KILL>', ADMIN), 'STILL_REFERENCED');
    await seedApi(t.engine, 'twitter');
    expectError(await run('<UPDATE><WEBAPI ID="1"><INFO><ACTIVITY>1</ACTIVITY></INFO></WEBAPI></UPDATE>', ADMIN), 'DUPLICATE_VALUE');
  });
});

describe('batch transactions', () => {
  const t = useEngine();

  beforeEach(async () => {
    await seedApi(t.engine, 'twitter');
  });

  it('each command is its own transaction: a failure in the middle leaves the others written', async () => {
    const all = replies(await t.engine.execute(q(
      '<CREATE><WEBACCOUNT><INFO><API>twitter</API></INFO></WEBACCOUNT></CREATE>',
      '<CREATE><WEBACCOUNT><INFO><API>nope</API></INFO></WEBACCOUNT></CREATE>',
      '<CREATE><WEBACCOUNT><INFO><API>twitter</API></INFO></WEBACCOUNT></CREATE>',
    ), ALICE));
    assert.deepEqual(all.map((r) => r.attrs.msgType), ['0', '1', '0']);
    assert.equal((await t.engine.database.knex('webaccount').count({ n: '*' }))[0]!.n, 2);
  });

  it('atomic: a failing third command leaves the first two unwritten, and every command says so', async () => {
    const all = replies(await t.engine.execute(qa(
      '<CREATE><WEBACCOUNT><INFO><API>twitter</API></INFO></WEBACCOUNT></CREATE>',
      '<CREATE><WEBACCOUNT><INFO><API>twitter</API></INFO></WEBACCOUNT></CREATE>',
      '<CREATE><WEBACCOUNT><INFO><API>nope</API></INFO></WEBACCOUNT></CREATE>',
      '<CREATE><WEBACCOUNT><INFO><API>twitter</API></INFO></WEBACCOUNT></CREATE>',
    ), ALICE));
    expectError(all[0]!, 'ROLLED_BACK');
    expectError(all[1]!, 'ROLLED_BACK');
    expectError(all[2]!, 'REFERENCE_NOT_FOUND');
    expectError(all[3]!, 'NOT_RUN');
    assert.match(all[0]!.text, /command 3 of the atomic batch failed/);
    assert.equal((await t.engine.database.knex('webaccount').count({ n: '*' }))[0]!.n, 0);
  });

  it('atomic: an invalid command stops the batch before anything runs', async () => {
    const all = replies(await t.engine.execute(qa(
      '<CREATE><WEBACCOUNT><INFO><API>twitter</API></INFO></WEBACCOUNT></CREATE>',
      '<CREATE><WEBACCOUNT><INFO><API>twitter</API><NOPE/></INFO></WEBACCOUNT></CREATE>',
    ), ALICE));
    expectError(all[0]!, 'NOT_RUN');
    expectError(all[1]!, 'UNKNOWN_FIELD');
    assert.equal((await t.engine.database.knex('webaccount').count({ n: '*' }))[0]!.n, 0);
  });

  it('atomic: a batch that succeeds is written whole', async () => {
    const all = replies(await t.engine.execute(qa(
      '<CREATE><WEBACCOUNT><INFO><API>twitter</API></INFO></WEBACCOUNT></CREATE>',
      '<UPDATE><WEBACCOUNT ID="1"><INFO><LOGIN>l</LOGIN></INFO></WEBACCOUNT></UPDATE>',
      '<GET><WEBACCOUNT ID="1"/></GET>',
    ), ALICE));
    assert.deepEqual(all.map((r) => r.tag), ['MESSAGE', 'MESSAGE', 'RESULTS']);
    assert.equal(all[2]!.elements[0]!.fields.LOGIN, 'l');
  });

  it('refuses QUERY attributes other than atomic=true|false', async () => {
    const r = await t.engine.run('<QUERY atomic="yes"/>', ALICE);
    assert.equal(r.status, 400);
    expectError(only(r.xml), 'QUERY_ATTRIBUTE');
    expectError(only((await t.engine.run('<QUERY transaction="1"/>', ALICE)).xml), 'QUERY_ATTRIBUTE');
    expectError(only((await t.engine.run('<BATCH/>', ALICE)).xml), 'XML_ROOT');
    expectError(only((await t.engine.run('<QUERY>stray</QUERY>', ALICE)).xml), 'UNEXPECTED_TEXT');
  });
});
