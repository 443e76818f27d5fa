/**
 * Lists and criteria within every documented limit never reach PostgreSQL's limit of 65,535 bind parameters
 * (which answered INTERNAL_ERROR, `bind message has … parameter formats`): an IN list is one array parameter,
 * and the criteria of one command are limited, with a code of their own.
 */
import assert from 'node:assert/strict';
import { MAX_CRITERIA } from '../../src/validate.js';
import { ADMIN, ALICE, useEngine } from '../helpers/engine.js';
import { seedAccount, seedApi } from '../helpers/seed.js';
import { only, q } from '../helpers/xml.js';

describe('bind parameters', function () {
  this.timeout(60_000);
  const t = useEngine();

  beforeEach(async () => {
    await seedApi(t.engine, 'mastodon', '', 'oauth1');
  });

  it('an ID IN list of 70,000 values finds the rows among them, in SEARCH and COUNT', async () => {
    const ids = [await seedAccount(t.engine, ALICE, 'mastodon'), await seedAccount(t.engine, ALICE, 'mastodon')];
    await seedAccount(t.engine, ALICE, 'mastodon');
    const list = [...Array.from({ length: 70_000 }, (_, i) => 100_000 + i), ...ids].join(',');
    const found = only(await t.engine.execute(q(`<SEARCH><WEBACCOUNT><INFO><ID operator="IN">${list}</ID></INFO></WEBACCOUNT></SEARCH>`), ALICE));
    assert.equal(found.tag, 'RESULTS', found.text.slice(0, 300));
    assert.deepEqual(found.elements.map((e) => Number(e.id)), ids);
    const counted = only(await t.engine.execute(q(`<COUNT><WEBACCOUNT><INFO><ID operator="IN">${list}</ID></INFO></WEBACCOUNT></COUNT>`), ALICE));
    assert.equal(counted.attrs.hits, '2', JSON.stringify(counted.attrs));
  });

  it('text IN lists keep quotes, backslashes, braces and the word NULL as plain characters', async () => {
    const names = ['a"b', 'c\\d', '{e}', 'NULL', "f'g"];
    for (const n of names) await seedAccount(t.engine, ALICE, 'mastodon', `<DENOMINATION>${n.replace(/&/g, '&amp;')}</DENOMINATION>`);
    await seedAccount(t.engine, ALICE, 'mastodon', '<DENOMINATION>other</DENOMINATION>');
    await seedAccount(t.engine, ALICE, 'mastodon');
    const found = only(await t.engine.execute(q(`<SEARCH><WEBACCOUNT><INFO><DENOMINATION operator="IN">${names.join(',')}</DENOMINATION></INFO></WEBACCOUNT></SEARCH>`), ALICE));
    assert.deepEqual(found.elements.map((e) => e.fields.DENOMINATION).sort(), [...names].sort());
  });

  it(`more than ${MAX_CRITERIA} criteria answer LIMIT_CRITERIA, not INTERNAL_ERROR; ${MAX_CRITERIA} run`, async () => {
    const id = await seedAccount(t.engine, ALICE, 'mastodon');
    const blocks = (n: number) => Array.from({ length: n }, (_, i) => `<INFO><ID>${i === 0 ? id : 100_000 + i}</ID></INFO>`).join('');
    const over = only(await t.engine.execute(q(`<COUNT><WEBACCOUNT>${blocks(25_000)}</WEBACCOUNT></COUNT>`), ADMIN));
    assert.equal(over.attrs.errorCode, 'LIMIT_CRITERIA', over.text);
    const within = only(await t.engine.execute(q(`<COUNT><WEBACCOUNT>${blocks(MAX_CRITERIA)}</WEBACCOUNT></COUNT>`), ADMIN));
    assert.equal(within.attrs.hits, '1', within.text);
  });
});
