import assert from 'node:assert/strict';
import { ALICE, useEngine } from '../helpers/engine.js';
import { seedAccount, seedApi } from '../helpers/seed.js';
import { expectError, expectOk, only, q, type Reply } from '../helpers/xml.js';

const ids = (r: Reply) => r.elements.map((e) => Number(e.id));

describe('GET, SEARCH and COUNT', () => {
  const t = useEngine();
  const search = async (inner: string, extra = '') => expectOk(only(await t.engine.execute(q(`<SEARCH><WEBACCOUNT>${inner}</WEBACCOUNT>${extra}</SEARCH>`), ALICE)));

  beforeEach(async () => {
    await seedApi(t.engine, 'twitter');
    await seedApi(t.engine, 'dropbox');
    // 1..5: names a..e, two on dropbox, one with a LOGIN.
    for (const [api, name, extra] of [
      ['twitter', 'alpha 100%', '<LOGIN>al_pha</LOGIN>'],
      ['twitter', 'beta', ''],
      ['dropbox', 'gamma', ''],
      ['twitter', 'delta', '<PUBLIC>R</PUBLIC>'],
      ['dropbox', 'epsilon', ''],
    ] as const) {
      await seedAccount(t.engine, ALICE, api, `<DENOMINATION>${name}</DENOMINATION>${extra}`);
      // Distinct CREATIONDATEs (millisecond precision) so sorting on them has one right answer.
      await new Promise((resolve) => setTimeout(resolve, 3));
    }
  });

  it('GET by ID and by ID list, in the order asked, without secrets', async () => {
    const r = expectOk(only(await t.engine.execute(q('<GET><WEBACCOUNT ID="3,1"/></GET>'), ALICE)));
    assert.deepEqual(ids(r), [3, 1]);
    assert.equal(r.attrs.hits, '2');
    assert.equal(r.elements[0]!.fields.DENOMINATION, 'gamma');
    for (const e of r.elements) for (const f of ['TOKEN', 'TOKEN_SECRET', 'REFRESH_TOKEN']) assert.ok(!(f in e.fields));
  });

  it('GET needs an ID and refuses a malformed one', async () => {
    expectError(only(await t.engine.execute(q('<GET><WEBACCOUNT/></GET>'), ALICE)), 'MISSING_ID');
    for (const bad of ['x', '1,,2', '-3', '0', '99999999999']) {
      expectError(only(await t.engine.execute(q(`<GET><WEBACCOUNT ID="${bad}"/></GET>`), ALICE)), 'INVALID_ID');
    }
  });

  it('RETURN chooses the fields; ID always comes', async () => {
    const r = only(await t.engine.execute(q('<GET><WEBACCOUNT ID="2"><RETURN><INFO><DENOMINATION/><API/></INFO></RETURN></WEBACCOUNT></GET>'), ALICE));
    assert.deepEqual(Object.keys(r.elements[0]!.fields), ['ID', 'DENOMINATION', 'API']);
    const s = await search('', '<RETURN><INFO><API/></INFO></RETURN>');
    assert.deepEqual(Object.keys(s.elements[0]!.fields), ['ID', 'API']);
    expectError(only(await t.engine.execute(q('<GET><WEBACCOUNT ID="2"><RETURN><INFO><TOKEN/></INFO></RETURN></WEBACCOUNT></GET>'), ALICE)), 'SECRET_FIELD');
  });

  it('SEARCH ANDs fields inside one INFO and ORs INFO blocks', async () => {
    assert.deepEqual(ids(await search('<INFO><API>twitter</API><DENOMINATION operator="starts-with">b</DENOMINATION></INFO>')), [2]);
    assert.deepEqual(ids(await search('<INFO><DENOMINATION>beta</DENOMINATION></INFO><INFO><API>dropbox</API></INFO>')), [2, 3, 5]);
  });

  it('supports every operator', async () => {
    const cases: [string, number[]][] = [
      ['<API>dropbox</API>', [3, 5]],
      ['<API operator="!=">dropbox</API>', [1, 2, 4]],
      ['<DENOMINATION operator="IN">beta,delta,zeta</DENOMINATION>', [2, 4]],
      ['<DENOMINATION operator="starts-with">ep</DENOMINATION>', [5]],
      ['<DENOMINATION operator="contains">mm</DENOMINATION>', [3]],
      ['<DENOMINATION operator="contains">0%</DENOMINATION>', [1]],
      ['<LOGIN operator="contains">_</LOGIN>', [1]],
      ['<ID operator="GT">3</ID>', [4, 5]],
      ['<ID operator="GT=">3</ID>', [3, 4, 5]],
      ['<ID operator="LT">2</ID>', [1]],
      ['<ID operator="LT=">2</ID>', [1, 2]],
      ['<ID operator="between">2/4</ID>', [2, 3, 4]],
      ['<LOGIN></LOGIN>', [2, 3, 4, 5]],
      ['<LOGIN operator="!="></LOGIN>', [1]],
      ['<CREATIONDATE operator="GT">2000-01-01 00:00:00</CREATIONDATE>', [1, 2, 3, 4, 5]],
    ];
    for (const [criterion, expected] of cases) assert.deepEqual(ids(await search(`<INFO>${criterion}</INFO>`)), expected, criterion);
  });

  it('treats SQL metacharacters in criteria as plain text', async () => {
    for (const evil of ["' OR '1'='1", "beta'; DROP TABLE webaccount; --", '_%', '\\', '"; --', '%%']) {
      const r = await search(`<INFO><DENOMINATION operator="contains">${evil.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</DENOMINATION></INFO>`);
      assert.equal(r.attrs.hits, '0', evil);
    }
    assert.equal((await search('')).attrs.hits, '5');
  });

  it('refuses unknown operators and operators that do not fit the type', async () => {
    expectError(only(await t.engine.execute(q('<SEARCH><WEBACCOUNT><INFO><API operator="LIKE">x</API></INFO></WEBACCOUNT></SEARCH>'), ALICE)), 'UNKNOWN_OPERATOR');
    expectError(only(await t.engine.execute(q('<SEARCH><WEBACCOUNT><INFO><ID operator="contains">1</ID></INFO></WEBACCOUNT></SEARCH>'), ALICE)), 'UNKNOWN_OPERATOR');
    expectError(only(await t.engine.execute(q('<SEARCH><WEBACCOUNT><INFO><ID operator="between">1</ID></INFO></WEBACCOUNT></SEARCH>'), ALICE)), 'INVALID_VALUE');
    expectError(only(await t.engine.execute(q('<SEARCH><WEBACCOUNT><INFO><TOKEN>x</TOKEN></INFO></WEBACCOUNT></SEARCH>'), ALICE)), 'SECRET_FIELD');
  });

  it('paginates and sorts, with hits, page and pages', async () => {
    const r = await search('', '<PAGINATE display="2" page="2"/><SORT select="DENOMINATION" order="descending"/>');
    // descending names: gamma, epsilon, delta, beta, alpha → page 2 = delta, beta
    assert.deepEqual(ids(r), [4, 2]);
    assert.deepEqual([r.attrs.hits, r.attrs.page, r.attrs.pages], ['5', '2', '3']);
    const past = await search('', '<PAGINATE display="2" page="9"/>');
    assert.deepEqual([past.attrs.hits, past.elements.length], ['5', 0]);
    const newest = await search('<INFO><API>twitter</API></INFO>', '<PAGINATE display="20" page="1"/><SORT select="CREATIONDATE" order="descending"/>');
    assert.deepEqual(ids(newest), [4, 2, 1]);
    expectError(only(await t.engine.execute(q('<SEARCH><WEBACCOUNT/><PAGINATE display="0"/></SEARCH>'), ALICE)), 'INVALID_VALUE');
    expectError(only(await t.engine.execute(q('<SEARCH><WEBACCOUNT/><PAGINATE display="5000"/></SEARCH>'), ALICE)), 'INVALID_VALUE');
    expectError(only(await t.engine.execute(q('<SEARCH><WEBACCOUNT/><SORT select="NOPE"/></SEARCH>'), ALICE)), 'UNKNOWN_FIELD');
    expectError(only(await t.engine.execute(q('<SEARCH><WEBACCOUNT/><SORT select="ID" order="up"/></SEARCH>'), ALICE)), 'INVALID_VALUE');
    expectError(only(await t.engine.execute(q('<SEARCH><WEBACCOUNT/><PAGINATE size="5"/></SEARCH>'), ALICE)), 'UNKNOWN_ATTRIBUTE');
  });

  it('COUNT answers hits only', async () => {
    const r = expectOk(only(await t.engine.execute(q('<COUNT name="n"><WEBACCOUNT><INFO><API>twitter</API></INFO></WEBACCOUNT></COUNT>'), ALICE)));
    assert.deepEqual([r.tag, r.attrs.hits, r.attrs.name, r.elements.length], ['RESULTS', '3', 'n', 0]);
  });

  it('hides deleted elements from SEARCH and COUNT unless ACTIVITY is asked for', async () => {
    expectOk(only(await t.engine.execute(q('<DELETE><WEBACCOUNT ID="2"/></DELETE>'), ALICE)));
    assert.deepEqual(ids(await search('')), [1, 3, 4, 5]);
    assert.deepEqual(ids(await search('<INFO><ACTIVITY>0</ACTIVITY></INFO>')), [2]);
    const c = only(await t.engine.execute(q('<COUNT><WEBACCOUNT/></COUNT>'), ALICE));
    assert.equal(c.attrs.hits, '4');
  });
});
