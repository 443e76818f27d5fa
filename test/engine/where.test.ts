import assert from 'node:assert/strict';
import type { Principal } from '../../src/principal.js';
import { ADMIN, ALICE, BOB, CAROL, useEngine } from '../helpers/engine.js';
import { seedAccount, seedApi } from '../helpers/seed.js';
import { expectError, expectOk, only, q, qa, replies } from '../helpers/xml.js';

const where = (criteria: string) => `<WHERE><INFO>${criteria}</INFO></WHERE>`;

describe('addressing by criteria: WHERE on UPDATE, DELETE and KILL', () => {
  const t = useEngine();
  const run = async (xml: string, who: Principal = ALICE) => only(await t.engine.execute(q(xml), who));
  const rows = async () => (await t.engine.database.knex('webaccount').select('id', 'login', 'activity').orderBy('id')) as { id: number; login: string | null; activity: number }[];

  beforeEach(async () => {
    await seedApi(t.engine, 'twitter');
    await seedApi(t.engine, 'dropbox');
    // ALICE's 1..4 (3 on dropbox), CAROL's 5 on twitter.
    await seedAccount(t.engine, ALICE, 'twitter', '<DENOMINATION>Shop one</DENOMINATION>');
    await seedAccount(t.engine, ALICE, 'twitter', '<DENOMINATION>Shop two</DENOMINATION>');
    await seedAccount(t.engine, ALICE, 'dropbox', '<DENOMINATION>Shop three</DENOMINATION>');
    await seedAccount(t.engine, ALICE, 'twitter', '<DENOMINATION>private</DENOMINATION>');
    await seedAccount(t.engine, CAROL, 'twitter', '<DENOMINATION>Carol\'s shop</DENOMINATION>');
  });

  describe('UPDATE', () => {
    it('writes every element the criteria match, with hits and the elementID list', async () => {
      const r = expectOk(await run(`<UPDATE><WEBACCOUNT>${where('<API>twitter</API><DENOMINATION operator="contains">shop</DENOMINATION>')}<INFO><LOGIN>x</LOGIN></INFO></WEBACCOUNT></UPDATE>`));
      assert.deepEqual([r.attrs.hits, r.attrs.elementID, r.attrs.command], ['2', '1,2', 'UPDATE']);
      assert.deepEqual((await rows()).map((row) => row.login), ['x', 'x', null, null, null]);
    });

    it('INFO blocks of a WHERE are ORed, as in SEARCH', async () => {
      const r = expectOk(await run('<UPDATE><WEBACCOUNT><WHERE><INFO><API>dropbox</API></INFO><INFO><DENOMINATION>private</DENOMINATION></INFO></WHERE><INFO><LOGIN>y</LOGIN></INFO></WEBACCOUNT></UPDATE>'));
      assert.equal(r.attrs.elementID, '3,4');
    });

    it('matches only what the caller may read: another owner\'s elements are not there', async () => {
      const r = expectOk(await run(`<UPDATE><WEBACCOUNT>${where('<API>twitter</API>')}<INFO><LOGIN>c</LOGIN></INFO></WEBACCOUNT></UPDATE>`, CAROL));
      assert.deepEqual([r.attrs.hits, r.attrs.elementID], ['1', '5']);
      assert.deepEqual((await rows()).map((row) => row.login), [null, null, null, null, 'c']);
    });

    it('checks each element as an ID list would: one it may only read refuses the whole command', async () => {
      expectOk(await run('<UPDATE><WEBACCOUNT ID="2"><INFO><GROUPID>10</GROUPID></INFO></WEBACCOUNT></UPDATE>'));
      expectOk(await run('<UPDATE><WEBACCOUNT ID="5"><INFO><PUBLIC>R</PUBLIC></INFO></WEBACCOUNT></UPDATE>', CAROL));
      const r = expectError(await run(`<UPDATE><WEBACCOUNT>${where('<API>twitter</API>')}<INFO><LOGIN>b</LOGIN></INFO></WEBACCOUNT></UPDATE>`, BOB), 'FORBIDDEN', '3');
      assert.match(r.text, /WEBACCOUNT 2,5 but not update/);
      assert.ok((await rows()).every((row) => row.login === null), 'nothing was written');
    });

    it('a locked element among the matches refuses the command; an unlock by WHERE goes through', async () => {
      expectOk(await run('<UPDATE><WEBACCOUNT ID="2"><INFO><ISLOCKED>1</ISLOCKED></INFO></WEBACCOUNT></UPDATE>'));
      expectError(await run(`<UPDATE><WEBACCOUNT>${where('<API>twitter</API>')}<INFO><LOGIN>l</LOGIN></INFO></WEBACCOUNT></UPDATE>`), 'LOCKED');
      assert.ok((await rows()).every((row) => row.login === null));
      expectOk(await run(`<UPDATE><WEBACCOUNT>${where('<ISLOCKED>1</ISLOCKED>')}<INFO><ISLOCKED>0</ISLOCKED></INFO></WEBACCOUNT></UPDATE>`));
      expectOk(await run(`<UPDATE><WEBACCOUNT>${where('<API>twitter</API>')}<INFO><LOGIN>l</LOGIN></INFO></WEBACCOUNT></UPDATE>`));
    });

    it('keeps the state rules: an account holding tokens keeps its API, a transition must be legal', async () => {
      await t.engine.database.knex('webaccount').where('id', 2).update({ authorization_state: 'authorized' });
      const moved = expectError(await run(`<UPDATE><WEBACCOUNT>${where('<API>twitter</API>')}<INFO><API>dropbox</API></INFO></WEBACCOUNT></UPDATE>`), 'API_NOT_MOVABLE');
      assert.match(moved.text, /WEBACCOUNT 2 is authorized/);
      expectError(await run(`<UPDATE><WEBACCOUNT>${where('<API>twitter</API>')}<INFO><AUTHORIZATION_STATE>disabled</AUTHORIZATION_STATE></INFO></WEBACCOUNT></UPDATE>`), 'ILLEGAL_TRANSITION');
      const disabled = expectOk(await run(`<UPDATE><WEBACCOUNT>${where('<AUTHORIZATION_STATE>authorized</AUTHORIZATION_STATE>')}<INFO><AUTHORIZATION_STATE>disabled</AUTHORIZATION_STATE></INFO></WEBACCOUNT></UPDATE>`));
      assert.deepEqual([disabled.attrs.hits, disabled.attrs.elementID], ['1', '2']);
    });

    it('addresses a WEBAPI by its DENOMINATION; only admins write WEBAPIs', async () => {
      const byName = `<UPDATE><WEBAPI>${where('<DENOMINATION>dropbox</DENOMINATION>')}<INFO><SCOPES>files.read</SCOPES></INFO></WEBAPI></UPDATE>`;
      expectError(await run(byName), 'ADMIN_ONLY', '3');
      expectOk(await run(byName, ADMIN));
      const api = await t.engine.database.knex('webapi').first('scopes').where('denomination', 'dropbox');
      assert.equal(api?.scopes, 'files.read');
      // A non-admin learns nothing by a WHERE that matches no WEBAPI either.
      expectError(await run(`<UPDATE><WEBAPI>${where('<DENOMINATION>nope</DENOMINATION>')}<INFO><SCOPES>x</SCOPES></INFO></WEBAPI></UPDATE>`), 'ADMIN_ONLY', '3');
    });

    it('a WHERE that matches nothing writes nothing and says so, as a success', async () => {
      const r = expectOk(await run(`<UPDATE><WEBACCOUNT>${where('<DENOMINATION>nope</DENOMINATION>')}<INFO><LOGIN>n</LOGIN></INFO></WEBACCOUNT></UPDATE>`));
      assert.deepEqual([r.attrs.msgType, r.attrs.hits, r.attrs.elementID], ['0', '0', '']);
      assert.equal(r.attrs.errorCode, undefined);
      assert.match(r.text, /No WEBACCOUNT matched/);
    });
  });

  describe('DELETE and KILL', () => {
    it('DELETE WHERE soft-deletes the active matches, and deleted ones are not matched again', async () => {
      const r = expectOk(await run(`<DELETE><WEBACCOUNT>${where('<API>twitter</API>')}</WEBACCOUNT></DELETE>`));
      assert.deepEqual([r.attrs.hits, r.attrs.elementID], ['3', '1,2,4']);
      assert.deepEqual((await rows()).map((row) => row.activity), [0, 0, 1, 0, 1]);
      assert.equal((await run(`<DELETE><WEBACCOUNT>${where('<API>twitter</API>')}</WEBACCOUNT></DELETE>`)).attrs.hits, '0');
      const restored = expectOk(await run(`<UPDATE><WEBACCOUNT>${where('<ACTIVITY>0</ACTIVITY><DENOMINATION operator="starts-with">shop</DENOMINATION>')}<INFO><ACTIVITY>1</ACTIVITY></INFO></WEBACCOUNT></UPDATE>`));
      assert.equal(restored.attrs.elementID, '1,2');
    });

    it('KILL WHERE removes the matches', async () => {
      const r = expectOk(await run(`<KILL><WEBACCOUNT>${where('<DENOMINATION operator="ends-with">TWO</DENOMINATION>')}</WEBACCOUNT></KILL>`));
      assert.deepEqual([r.attrs.hits, r.attrs.elementID], ['1', '2']);
      assert.deepEqual((await rows()).map((row) => row.id), [1, 3, 4, 5]);
    });

    it('a WEBAPI still named by accounts is neither deleted nor killed by WHERE', async () => {
      expectError(await run(`<DELETE><WEBAPI>${where('<DENOMINATION>dropbox</DENOMINATION>')}</WEBAPI></DELETE>`, ADMIN), 'STILL_REFERENCED');
      expectOk(await run('<DELETE><WEBACCOUNT ID="3"/></DELETE>'));
      expectError(await run(`<KILL><WEBAPI>${where('<DENOMINATION>dropbox</DENOMINATION>')}</WEBAPI></KILL>`, ADMIN), 'STILL_REFERENCED');
      expectOk(await run(`<DELETE><WEBAPI>${where('<DENOMINATION>dropbox</DENOMINATION>')}</WEBAPI></DELETE>`, ADMIN));
    });

    it('refuses the whole command for one element the caller may not write', async () => {
      expectOk(await run('<UPDATE><WEBACCOUNT ID="5"><INFO><PUBLIC>W</PUBLIC></INFO></WEBACCOUNT></UPDATE>', CAROL));
      expectError(await run(`<KILL><WEBACCOUNT>${where('<API>twitter</API>')}</WEBACCOUNT></KILL>`), 'FORBIDDEN', '3');
      expectError(await run(`<DELETE><WEBACCOUNT>${where('<API>twitter</API>')}</WEBACCOUNT></DELETE>`), 'FORBIDDEN', '3');
      assert.equal((await rows()).length, 5);
      assert.ok((await rows()).every((row) => row.activity === 1));
    });
  });

  describe('the form of a WHERE', () => {
    it('needs an ID or a WHERE, not both, and a WHERE needs criteria in every INFO', async () => {
      const none = expectError(await run('<DELETE><WEBACCOUNT/></DELETE>'), 'MISSING_ID');
      assert.match(none.text, /or a <WHERE>/);
      expectError(await run(`<DELETE><WEBACCOUNT ID="1">${where('<API>twitter</API>')}</WEBACCOUNT></DELETE>`), 'UNEXPECTED_ELEMENT');
      expectError(await run('<DELETE><WEBACCOUNT><WHERE/></WEBACCOUNT></DELETE>'), 'MISSING_ELEMENT');
      expectError(await run('<DELETE><WEBACCOUNT><WHERE><INFO><API>twitter</API></INFO><INFO/></WHERE></WEBACCOUNT></DELETE>'), 'MISSING_ELEMENT');
      expectError(await run('<DELETE><WEBACCOUNT><WHERE><API>twitter</API></WHERE></WEBACCOUNT></DELETE>'), 'UNEXPECTED_ELEMENT');
      expectError(await run(`<DELETE><WEBACCOUNT>${where('<API>twitter</API>')}${where('<API>dropbox</API>')}</WEBACCOUNT></DELETE>`), 'UNEXPECTED_ELEMENT');
      expectError(await run(`<UPDATE><WEBACCOUNT>${where('<TOKEN>x</TOKEN>')}<INFO><LOGIN>x</LOGIN></INFO></WEBACCOUNT></UPDATE>`), 'SECRET_FIELD');
      expectError(await run(`<UPDATE><WEBACCOUNT>${where('<API operator="LIKE">x</API>')}<INFO><LOGIN>x</LOGIN></INFO></WEBACCOUNT></UPDATE>`), 'UNKNOWN_OPERATOR');
      expectError(await run(`<UPDATE><WEBACCOUNT>${where('<API>twitter</API>')}</WEBACCOUNT></UPDATE>`), 'MISSING_ELEMENT');
      // GET, AUTHORIZE and CALL take IDs: SEARCH is for criteria.
      expectError(await run(`<GET><WEBACCOUNT>${where('<API>twitter</API>')}</WEBACCOUNT></GET>`), 'MISSING_ID');
      assert.equal(replies(await t.engine.execute(q('<GET><WEBACCOUNT ID="1"><WHERE/></WEBACCOUNT></GET>'), ALICE))[0]!.attrs.errorCode, 'UNEXPECTED_ELEMENT');
    });

    it('counts its criteria against the same limit as a SEARCH', async () => {
      const many = '<LOGIN>x</LOGIN>'.repeat(1001);
      expectError(await run(`<DELETE><WEBACCOUNT>${where(many)}</WEBACCOUNT></DELETE>`), 'LIMIT_CRITERIA');
    });

    it('in an atomic batch, a WHERE sees what the commands before it wrote, and rolls back with them', async () => {
      const all = replies(await t.engine.execute(qa(
        '<UPDATE><WEBACCOUNT ID="1"><INFO><LOGIN>mark</LOGIN></INFO></WEBACCOUNT></UPDATE>',
        `<DELETE><WEBACCOUNT>${where('<LOGIN>mark</LOGIN>')}</WEBACCOUNT></DELETE>`,
        '<UPDATE><WEBACCOUNT ID="5"><INFO><LOGIN>y</LOGIN></INFO></WEBACCOUNT></UPDATE>',
      ), ALICE));
      assert.deepEqual(all.map((r) => r.attrs.errorCode), ['ROLLED_BACK', 'ROLLED_BACK', 'NOT_VISIBLE']);
      assert.ok((await rows()).every((row) => row.activity === 1 && row.login === null));
    });
  });
});

describe('a WHERE is bounded: at most 1000 elements, within the rows budget', () => {
  describe('the limit', () => {
    const t = useEngine();

    it('refuses a WHERE matching more than 1000 elements, writing nothing', async function () {
      this.timeout(60_000);
      await seedApi(t.engine, 'twitter');
      const creates = Array.from({ length: 1001 }, () => '<CREATE><WEBACCOUNT><INFO><API>twitter</API></INFO></WEBACCOUNT></CREATE>').join('');
      assert.ok(replies(await t.engine.execute(q(creates), ALICE)).every((r) => r.attrs.msgType === '0'));
      const r = expectError(only(await t.engine.execute(q(`<UPDATE><WEBACCOUNT>${where('<API>twitter</API>')}<INFO><LOGIN>x</LOGIN></INFO></WEBACCOUNT></UPDATE>`), ALICE)), 'LIMIT_WHERE');
      assert.match(r.text, /more than the limit of 1000/);
      assert.equal(Number((await t.engine.database.knex('webaccount').count({ n: '*' }).whereNotNull('login'))[0]!.n), 0);
      const fits = expectOk(only(await t.engine.execute(q(`<UPDATE><WEBACCOUNT>${where('<API>twitter</API><ID operator="GT">1</ID>')}<INFO><LOGIN>x</LOGIN></INFO></WEBACCOUNT></UPDATE>`), ALICE)));
      assert.equal(fits.attrs.hits, '1000');
    });
  });

  describe('the rows budget', () => {
    const t = useEngine({ budget: { maxRows: 5 } });

    beforeEach(async () => {
      await seedApi(t.engine, 'twitter');
      for (let i = 0; i < 4; i++) await seedAccount(t.engine, ALICE, 'twitter');
    });

    it('counts the elements a WHERE addressed; past what remains, it writes nothing and the batch stops', async () => {
      const all = replies(await t.engine.execute(q(
        `<UPDATE><WEBACCOUNT>${where('<API>twitter</API>')}<INFO><LOGIN>a</LOGIN></INFO></WEBACCOUNT></UPDATE>`,
        `<UPDATE><WEBACCOUNT>${where('<API>twitter</API>')}<INFO><LOGIN>b</LOGIN></INFO></WEBACCOUNT></UPDATE>`,
        '<GET><WEBACCOUNT ID="1"/></GET>',
      ), ALICE));
      assert.deepEqual(all.map((r) => r.attrs.errorCode), [undefined, 'BUDGET_ROWS', 'BUDGET_ROWS']);
      assert.equal(all[0]!.attrs.hits, '4');
      assert.match(all[1]!.text, /nothing was written/);
      const logins = (await t.engine.database.knex('webaccount').select('login')).map((r: { login: string }) => r.login);
      assert.deepEqual(logins, ['a', 'a', 'a', 'a']);
    });

    it('a SEARCH after a WHERE has the rows the WHERE left', async () => {
      const all = replies(await t.engine.execute(q(
        `<DELETE><WEBACCOUNT>${where('<ID operator="LT=">3</ID>')}</WEBACCOUNT></DELETE>`,
        '<SEARCH><WEBACCOUNT><INFO><ACTIVITY operator="IN">0,1</ACTIVITY></INFO></WEBACCOUNT></SEARCH>',
      ), ALICE));
      assert.deepEqual(all.map((r) => r.attrs.errorCode), [undefined, 'BUDGET_ROWS']);
    });
  });
});
