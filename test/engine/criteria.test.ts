import assert from 'node:assert/strict';
import { ADMIN, ALICE, useEngine } from '../helpers/engine.js';
import { seedAccount, seedApi } from '../helpers/seed.js';
import { expectError, expectOk, only, q, type Reply } from '../helpers/xml.js';

const ids = (r: Reply) => r.elements.map((e) => Number(e.id));
const xmlText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

describe('criteria: one test per operator', () => {
  const t = useEngine();
  const search = async (criteria: string, who = ALICE) => expectOk(only(await t.engine.execute(q(`<SEARCH><WEBACCOUNT><INFO>${criteria}</INFO></WEBACCOUNT></SEARCH>`), who)));
  const found = async (criteria: string) => ids(await search(criteria));

  beforeEach(async () => {
    await seedApi(t.engine, 'twitter');
    await seedApi(t.engine, 'dropbox');
    // 1..6
    for (const [api, name, login] of [
      ['twitter', 'Shop account', 'shop'],
      ['twitter', 'Élodie Crème', ''],
      ['dropbox', 'Straße 10%', 'a_b'],
      ['dropbox', 'back\\slash', 'CAFÉ'],
      ['twitter', 'plain', ''],
      ['twitter', 'ŒUVRE Æther', 'x%y'],
    ] as const) {
      await seedAccount(t.engine, ALICE, api, `<DENOMINATION>${xmlText(name)}</DENOMINATION>${login ? `<LOGIN>${login}</LOGIN>` : ''}`);
    }
  });

  it('= is exact: it folds neither case nor accents', async () => {
    assert.deepEqual(await found('<DENOMINATION>Shop account</DENOMINATION>'), [1]);
    assert.deepEqual(await found('<DENOMINATION>shop account</DENOMINATION>'), []);
    assert.deepEqual(await found('<LOGIN>CAFE</LOGIN>'), []);
    assert.deepEqual(await found('<LOGIN></LOGIN>'), [2, 5]);
  });

  it('!= is different, or no value', async () => {
    assert.deepEqual(await found('<LOGIN operator="!=">shop</LOGIN>'), [2, 3, 4, 5, 6]);
    assert.deepEqual(await found('<LOGIN operator="!="></LOGIN>'), [1, 3, 4, 6]);
  });

  it('IN is one of the list; an empty item means no value', async () => {
    assert.deepEqual(await found('<LOGIN operator="IN">shop,a_b,nope</LOGIN>'), [1, 3]);
    assert.deepEqual(await found('<LOGIN operator="IN">shop,</LOGIN>'), [1, 2, 5]);
    assert.deepEqual(await found('<ID operator="IN">6,2</ID>'), [2, 6]);
  });

  it('NOT IN is none of the list, no value included, unless an empty item excludes it', async () => {
    assert.deepEqual(await found('<LOGIN operator="NOT IN">shop,a_b</LOGIN>'), [2, 4, 5, 6]);
    assert.deepEqual(await found('<LOGIN operator="NOT IN">shop,a_b,</LOGIN>'), [4, 6]);
    assert.deepEqual(await found('<ID operator="NOT IN">1,2,3</ID>'), [4, 5, 6]);
    assert.deepEqual(await found('<API operator="NOT IN">twitter</API>'), [3, 4]);
    expectError(only(await t.engine.execute(q('<SEARCH><WEBACCOUNT><INFO><ID operator="NOT IN">1,x</ID></INFO></WEBACCOUNT></SEARCH>'), ALICE)), 'INVALID_VALUE');
  });

  it('starts-with folds case and accents; % _ and \\ are plain characters', async () => {
    assert.deepEqual(await found('<DENOMINATION operator="starts-with">ELO</DENOMINATION>'), [2]);
    assert.deepEqual(await found('<DENOMINATION operator="starts-with">élodie crè</DENOMINATION>'), [2]);
    assert.deepEqual(await found('<DENOMINATION operator="starts-with">oeuvre ae</DENOMINATION>'), [6]);
    assert.deepEqual(await found('<LOGIN operator="starts-with">a_</LOGIN>'), [3]);
    assert.deepEqual(await found('<LOGIN operator="starts-with">_</LOGIN>'), []);
    assert.deepEqual(await found('<DENOMINATION operator="starts-with">back\\</DENOMINATION>'), [4]);
  });

  it('ends-with folds case and accents; % _ and \\ are plain characters', async () => {
    assert.deepEqual(await found('<DENOMINATION operator="ends-with">CREME</DENOMINATION>'), [2]);
    assert.deepEqual(await found('<DENOMINATION operator="ends-with">10%</DENOMINATION>'), [3]);
    assert.deepEqual(await found('<DENOMINATION operator="ends-with">%</DENOMINATION>'), [3]);
    assert.deepEqual(await found('<LOGIN operator="ends-with">%y</LOGIN>'), [6]);
    assert.deepEqual(await found('<LOGIN operator="ends-with">_</LOGIN>'), []);
    assert.deepEqual(await found('<LOGIN operator="ends-with">cafe</LOGIN>'), [4]);
    assert.deepEqual(await found('<API operator="ends-with">BOX</API>'), [3, 4]);
    expectError(only(await t.engine.execute(q('<SEARCH><WEBACCOUNT><INFO><ID operator="ends-with">1</ID></INFO></WEBACCOUNT></SEARCH>'), ALICE)), 'UNKNOWN_OPERATOR');
  });

  it('contains matches every word of the value, folding case and accents (the docs\' own example)', async () => {
    // CREATE "Shop account", then SEARCH contains "shop": Sushee finds it.
    assert.deepEqual(await found('<DENOMINATION operator="contains">shop</DENOMINATION>'), [1]);
    assert.deepEqual(await found('<DENOMINATION operator="contains">ACCOUNT shop</DENOMINATION>'), [1]);
    assert.deepEqual(await found('<DENOMINATION operator="contains">shop missing</DENOMINATION>'), []);
    assert.deepEqual(await found('<DENOMINATION operator="contains">  crEme   ELO  </DENOMINATION>'), [2]);
    assert.deepEqual(await found('<DENOMINATION operator="contains">strasse</DENOMINATION>'), [3]);
    assert.deepEqual(await found('<DENOMINATION operator="contains">STRAßE</DENOMINATION>'), [3]);
    assert.deepEqual(await found('<DENOMINATION operator="contains">oeuv</DENOMINATION>'), [6]);
  });

  it('contains takes %, _ and \\ as plain characters', async () => {
    assert.deepEqual(await found('<DENOMINATION operator="contains">%</DENOMINATION>'), [3]);
    assert.deepEqual(await found('<LOGIN operator="contains">_</LOGIN>'), [3]);
    assert.deepEqual(await found('<DENOMINATION operator="contains">\\</DENOMINATION>'), [4]);
    assert.deepEqual(await found('<DENOMINATION operator="contains">%%</DENOMINATION>'), []);
    assert.deepEqual(await found('<DENOMINATION operator="contains">_%</DENOMINATION>'), []);
  });

  it('contains reads its value as text, on a URL field too', async () => {
    expectOk(only(await t.engine.execute(q('<UPDATE><WEBAPI ID="2"><INFO><BASE_URL>https://api.dropboxapi.com/2</BASE_URL></INFO></WEBAPI></UPDATE>'), ADMIN)));
    const r = expectOk(only(await t.engine.execute(q('<SEARCH><WEBAPI><INFO><BASE_URL operator="contains">DROPBOX</BASE_URL></INFO></WEBAPI></SEARCH>'), ALICE)));
    assert.deepEqual(ids(r), [2]);
  });

  it('each word of a contains counts as one criterion against the limit', async () => {
    const many = '<LOGIN>x</LOGIN>'.repeat(998);
    assert.equal((await search(`${many}<DENOMINATION operator="contains">one two</DENOMINATION>`)).attrs.hits, '0');
    const r = expectError(only(await t.engine.execute(q(`<SEARCH><WEBACCOUNT><INFO>${many}<DENOMINATION operator="contains">one two three</DENOMINATION></INFO></WEBACCOUNT></SEARCH>`), ALICE)), 'LIMIT_CRITERIA');
    assert.match(r.text, /one per word/);
    // A word given twice is one word.
    assert.equal((await search(`${many}<DENOMINATION operator="contains">shop shop SHOP</DENOMINATION>`)).attrs.hits, '0');
  });

  it('GT, GT=, LT, LT= and between compare in the field\'s order', async () => {
    assert.deepEqual(await found('<ID operator="GT">4</ID>'), [5, 6]);
    assert.deepEqual(await found('<ID operator="GT=">4</ID>'), [4, 5, 6]);
    assert.deepEqual(await found('<ID operator="LT">2</ID>'), [1]);
    assert.deepEqual(await found('<ID operator="LT=">2</ID>'), [1, 2]);
    assert.deepEqual(await found('<ID operator="between">2/3</ID>'), [2, 3]);
  });

  describe('the date keywords now and today (UTC)', () => {
    // 1 long ago, 2 in the far future, 3 earlier today (UTC), the rest as created (just now).
    let earlierToday: Date;
    beforeEach(async () => {
      const now = new Date();
      const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
      earlierToday = new Date(midnight + Math.floor((now.getTime() - midnight) / 2));
      const knex = t.engine.database.knex;
      await knex('webaccount').where('id', 1).update({ creationdate: new Date('2001-02-03T04:05:06Z') });
      await knex('webaccount').where('id', 2).update({ creationdate: new Date('2999-01-01T00:00:00Z') });
      await knex('webaccount').where('id', 3).update({ creationdate: earlierToday });
    });

    it('now is the moment the command runs', async () => {
      assert.deepEqual(await found('<CREATIONDATE operator="GT">now</CREATIONDATE>'), [2]);
      assert.deepEqual(await found('<CREATIONDATE operator="LT=">now</CREATIONDATE>'), [1, 3, 4, 5, 6]);
    });

    it('today is 00:00:00.000 UTC of the current day', async () => {
      assert.deepEqual(await found('<CREATIONDATE operator="LT">today</CREATIONDATE>'), [1]);
      assert.deepEqual(await found('<CREATIONDATE operator="between">today/now</CREATIONDATE>'), [3, 4, 5, 6]);
      assert.deepEqual(await found('<CREATIONDATE operator="IN">today,2001-02-03 04:05:06</CREATIONDATE>'), [1]);
    });

    it('the keywords are dates only: elsewhere they are refused or plain text', async () => {
      const r = expectError(only(await t.engine.execute(q('<SEARCH><WEBACCOUNT><INFO><CREATIONDATE operator="GT">yesterday</CREATIONDATE></INFO></WEBACCOUNT></SEARCH>'), ALICE)), 'INVALID_VALUE');
      assert.match(r.text, /now or today/);
      expectError(only(await t.engine.execute(q('<SEARCH><WEBACCOUNT><INFO><ID>now</ID></INFO></WEBACCOUNT></SEARCH>'), ALICE)), 'INVALID_VALUE');
      assert.deepEqual(await found('<LOGIN>now</LOGIN>'), []);
      // Written, a date is a date: the keywords are for criteria.
      expectError(only(await t.engine.execute(q('<UPDATE><WEBACCOUNT ID="4"><INFO><MODIFICATIONDATE>now</MODIFICATIONDATE><LOGIN>y</LOGIN></INFO></WEBACCOUNT></UPDATE>'), ALICE)), 'INVALID_VALUE');
    });
  });
});
