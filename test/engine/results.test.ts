import assert from 'node:assert/strict';
import { DOMParser, type Element } from '@xmldom/xmldom';
import type { Principal } from '../../src/principal.js';
import { ADMIN, ALICE, BOB, CAROL, useEngine } from '../helpers/engine.js';
import { seedAccount, seedApi } from '../helpers/seed.js';
import { childElements, expectError, expectOk, only, q, type Reply } from '../helpers/xml.js';

const ids = (r: Reply) => r.elements.map((e) => Number(e.id));

/** The elements of the one RESULTS of a response, as xmldom reads them. */
function resultElements(xml: string): Element[] {
  const doc = new DOMParser().parseFromString(xml, 'text/xml');
  return childElements(childElements(doc.documentElement!)[0]!);
}

describe('the shape of results: SLICE, RETURN NOTHING, last-page, hits, security', () => {
  const t = useEngine();
  const run = async (xml: string, who: Principal = ALICE) => only(await t.engine.execute(q(xml), who));
  const search = async (extra: string) => expectOk(await run(`<SEARCH><WEBACCOUNT/>${extra}<SORT select="DENOMINATION"/></SEARCH>`));

  beforeEach(async () => {
    await seedApi(t.engine, 'twitter');
    // 1..5, sorted by name: a(5) b(3) c(1) d(4) e(2)
    for (const name of ['c', 'e', 'b', 'd', 'a']) await seedAccount(t.engine, ALICE, 'twitter', `<DENOMINATION>${name}</DENOMINATION>`);
  });

  describe('SLICE', () => {
    it('returns the elements from start to end, counted from 1, both included', async () => {
      const r = await search('<SLICE start="2" end="3"/>');
      assert.deepEqual(ids(r), [3, 1]);
      assert.equal(r.attrs.hits, '5');
      assert.equal(r.attrs['last-page'], 'false');
      assert.equal(r.attrs.page, undefined, 'a slice has no page');
      const tail = await search('<SLICE start="4" end="10"/>');
      assert.deepEqual(ids(tail), [4, 2]);
      assert.equal(tail.attrs['last-page'], 'true');
      const past = await search('<SLICE start="9" end="9"/>');
      assert.deepEqual([past.elements.length, past.attrs.hits, past.attrs['last-page']], [0, '5', 'true']);
      assert.deepEqual(ids(await search('<SLICE start="3"/>')), [1, 4, 2], 'end defaults to the largest page');
    });

    it('refuses a SLICE with PAGINATE, an end before its start, or wider than the largest page', async () => {
      expectError(await run('<SEARCH><WEBACCOUNT/><PAGINATE display="2"/><SLICE start="1" end="2"/></SEARCH>'), 'UNEXPECTED_ELEMENT');
      expectError(await run('<SEARCH><WEBACCOUNT/><SLICE start="3" end="2"/></SEARCH>'), 'INVALID_VALUE');
      expectError(await run('<SEARCH><WEBACCOUNT/><SLICE start="0" end="2"/></SEARCH>'), 'INVALID_VALUE');
      expectError(await run('<SEARCH><WEBACCOUNT/><SLICE start="1" end="1001"/></SEARCH>'), 'INVALID_VALUE');
      expectError(await run('<SEARCH><WEBACCOUNT/><SLICE begin="1"/></SEARCH>'), 'UNKNOWN_ATTRIBUTE');
      expectError(await run('<SEARCH><WEBACCOUNT/><SLICE start="1"/><SLICE start="2"/></SEARCH>'), 'UNEXPECTED_ELEMENT');
    });
  });

  it('last-page tells whether any element comes after this page', async () => {
    const page = (n: number) => search(`<PAGINATE display="2" page="${n}"/>`);
    assert.deepEqual(await Promise.all([1, 2, 3, 4].map(async (n) => (await page(n)).attrs['last-page'])), ['false', 'false', 'true', 'true']);
    assert.equal((await search('')).attrs['last-page'], 'true');
    assert.equal((await search('<PAGINATE display="5"/>')).attrs['last-page'], 'true');
  });

  describe('RETURN NOTHING', () => {
    it('answers the IDs only, on SEARCH and on GET', async () => {
      const xml = await t.engine.execute(q('<SEARCH><WEBACCOUNT><INFO><DENOMINATION operator="IN">a,b</DENOMINATION></INFO></WEBACCOUNT><RETURN><NOTHING/></RETURN></SEARCH>'), ALICE);
      const found = resultElements(xml);
      assert.deepEqual(found.map((e) => e.getAttribute('ID')), ['3', '5']);
      for (const e of found) assert.deepEqual(childElements(e), [], 'no INFO');
      assert.equal(only(xml).attrs.hits, '2');
      const got = resultElements(await t.engine.execute(q('<GET><WEBACCOUNT ID="2,1"><RETURN><NOTHING/></RETURN></WEBACCOUNT></GET>'), ALICE));
      assert.deepEqual(got.map((e) => [e.getAttribute('ID'), childElements(e).length]), [['2', 0], ['1', 0]]);
    });

    it('stands alone in its RETURN', async () => {
      expectError(await run('<GET><WEBACCOUNT ID="1"><RETURN><NOTHING/><INFO><LOGIN/></INFO></RETURN></WEBACCOUNT></GET>'), 'UNEXPECTED_ELEMENT');
      expectError(await run('<GET><WEBACCOUNT ID="1"><RETURN><INFO><LOGIN/></INFO><NOTHING/></RETURN></WEBACCOUNT></GET>'), 'UNEXPECTED_ELEMENT');
      expectError(await run('<GET><WEBACCOUNT ID="1"><RETURN><NOTHING/><HISTORY/></RETURN></WEBACCOUNT></GET>'), 'UNEXPECTED_ELEMENT');
      expectError(await run('<GET><WEBACCOUNT ID="1"><RETURN><NOTHING>x</NOTHING></RETURN></WEBACCOUNT></GET>'), 'UNEXPECTED_TEXT');
    });
  });

  it('write MESSAGEs carry hits: how many elements the command wrote', async () => {
    assert.equal((await run('<CREATE><WEBACCOUNT><INFO><API>twitter</API></INFO></WEBACCOUNT></CREATE>')).attrs.hits, '1');
    assert.equal((await run('<UPDATE><WEBACCOUNT ID="1,2,3"><INFO><LOGIN>x</LOGIN></INFO></WEBACCOUNT></UPDATE>')).attrs.hits, '3');
    assert.equal((await run('<DELETE><WEBACCOUNT ID="4,5"/></DELETE>')).attrs.hits, '2');
    assert.equal((await run('<KILL><WEBACCOUNT ID="6"/></KILL>')).attrs.hits, '1');
    const refused = expectError(await run('<KILL><WEBACCOUNT ID="1"/></KILL>', BOB), 'NOT_VISIBLE', '3');
    assert.equal(refused.attrs.hits, undefined, 'a failure wrote nothing and says no hits');
  });

  describe('security on each element: W (you may write it), R (read only)', () => {
    const security = async (xml: string, who: Principal) => resultElements(await t.engine.execute(q(xml), who)).map((e) => e.getAttribute('security'));

    beforeEach(async () => {
      // 6: group 10 (ALICE's and BOB's), PUBLIC 0; 7: PUBLIC R; 8: PUBLIC W. All owned by ALICE.
      await seedAccount(t.engine, ALICE, 'twitter', '<DENOMINATION>g</DENOMINATION><GROUPID>10</GROUPID>');
      await seedAccount(t.engine, ALICE, 'twitter', '<DENOMINATION>r</DENOMINATION><PUBLIC>R</PUBLIC>');
      await seedAccount(t.engine, ALICE, 'twitter', '<DENOMINATION>w</DENOMINATION><PUBLIC>W</PUBLIC>');
    });

    for (const [label, who, expected] of [
      ['the owner', ALICE, ['W', 'W', 'W']],
      ['an admin', ADMIN, ['W', 'W', 'W']],
      ['a member of the group', BOB, ['R', 'R', 'R']],
      ['a stranger (PUBLIC R and W read only: W lets them CALL, not write)', CAROL, ['R', 'R']],
    ] as const) {
      it(`for ${label}`, async () => {
        const searched = await security('<SEARCH><WEBACCOUNT><INFO><ID operator="GT">5</ID></INFO></WEBACCOUNT></SEARCH>', who);
        assert.deepEqual(searched, expected);
        const visible = who === CAROL ? '7,8' : '6,7,8';
        assert.deepEqual(await security(`<GET><WEBACCOUNT ID="${visible}"><RETURN><NOTHING/></RETURN></WEBACCOUNT></GET>`, who), expected);
      });
    }

    it('for WEBAPIs: W for admins, R for everyone else', async () => {
      assert.deepEqual(await security('<GET><WEBAPI ID="1"/></GET>', ADMIN), ['W']);
      assert.deepEqual(await security('<SEARCH><WEBAPI/></SEARCH>', ALICE), ['R']);
    });

    it('follows a change of owner at once', async () => {
      expectOk(await run('<UPDATE><WEBACCOUNT ID="7"><INFO><OWNERID>4</OWNERID></INFO></WEBACCOUNT></UPDATE>', ADMIN));
      assert.deepEqual(await security('<GET><WEBACCOUNT ID="7"/></GET>', CAROL), ['W']);
      assert.deepEqual(await security('<GET><WEBACCOUNT ID="7"/></GET>', ALICE), ['R']);
    });
  });
});
