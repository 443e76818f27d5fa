/**
 * Every request has a budget: bytes of RESPONSE, rows read, wall time. A 616-byte batch of 20 SEARCHes once
 * answered 10.8 MB, and 1,200 of them ended in HTTP 500 (`RangeError: Invalid string length`). Past a budget the
 * commands not yet run answer its MESSAGE and run nothing; the RESPONSE stays well-formed; an atomic batch
 * rolls back whole; a batch's CALLs share the time.
 */
import assert from 'node:assert/strict';
import type { Engine } from '../../src/engine.js';
import { ADMIN, ALICE, describeIn, makeEngine } from '../helpers/engine.js';
import { authorizedAccount, ECHO_PLUGINS, PUBLIC_URL, seedEchoApi, startEcho, type Echo } from '../helpers/echo.js';
import { seedAccount, seedApi } from '../helpers/seed.js';
import { q, replies } from '../helpers/xml.js';

/** `n` more accounts like the first of the table, in one statement. */
async function copyAccounts(engine: Engine, n: number): Promise<void> {
  const knex = engine.database.knex;
  const columns = Object.keys(await knex('webaccount').columnInfo()).filter((c) => c !== 'id');
  await knex.raw(`INSERT INTO webaccount (${columns.map(() => '??').join(', ')}) SELECT ${columns.map(() => '??').join(', ')} FROM webaccount, generate_series(1, ?) WHERE webaccount.id = 1`, [...columns, ...columns, n]);
}

const codes = (xml: string) => replies(xml).map((r) => (r.tag === 'RESULTS' ? `RESULTS:${r.elements.length}` : r.attrs.errorCode ?? r.attrs.msgType));

describe('request budgets', function () {
  this.timeout(120_000);
  let engine: Engine;
  const MAX_BYTES = 1_000_000;

  before(async () => {
    engine = await makeEngine({ budget: { maxResponseBytes: MAX_BYTES, maxRows: 2500 } });
    await seedApi(engine, 'mastodon', '', 'oauth1');
    await seedAccount(engine, ADMIN, 'mastodon', `<DENOMINATION>${'n'.repeat(200)}</DENOMINATION>`);
    await copyAccounts(engine, 1999);
  });
  after(async () => engine?.close());

  it('20 SEARCHes of a small batch answer within the byte budget, the rest as BUDGET_RESPONSE_BYTES', async () => {
    const batch = q('<SEARCH><WEBACCOUNT/></SEARCH>'.repeat(20));
    assert.ok(batch.length < 700);
    const xml = await engine.execute(batch, ADMIN);
    assert.ok(Buffer.byteLength(xml) <= MAX_BYTES, `${Buffer.byteLength(xml)} bytes`);
    const answers = codes(xml);
    assert.equal(answers.length, 20);
    const cut = answers.indexOf('BUDGET_RESPONSE_BYTES');
    assert.ok(cut >= 1, answers.join(' '));
    assert.ok(answers.slice(0, cut).every((a) => a === 'RESULTS:1000'), answers.join(' '));
    assert.ok(answers.slice(cut).every((a) => a === 'BUDGET_RESPONSE_BYTES'), answers.join(' '));
    const message = replies(xml)[cut]!;
    assert.equal(message.attrs.msgType, '1');
    assert.match(message.text, /NORI_MAX_RESPONSE_BYTES/);
  });

  it('a batch past the rows budget stops there: BUDGET_ROWS for the command that crossed it and the rest', async () => {
    // Small answers (one short field), so the byte budget is not what stops it; 2,500 rows is.
    const search = '<SEARCH><WEBACCOUNT/><RETURN><INFO><ACTIVITY/></INFO></RETURN></SEARCH>';
    const xml = await engine.execute(q(`${search}<COUNT><WEBACCOUNT/></COUNT>`.repeat(3)), ADMIN);
    assert.deepEqual(codes(xml), ['RESULTS:1000', 'RESULTS:0', 'RESULTS:1000', 'RESULTS:0', 'BUDGET_ROWS', 'BUDGET_ROWS']);
  });

  it('an atomic batch past the budget rolls back whole', async () => {
    const create = '<CREATE><WEBACCOUNT><INFO><API>mastodon</API><DENOMINATION>atomic-budget</DENOMINATION></INFO></WEBACCOUNT></CREATE>';
    const xml = await engine.execute(`<QUERY atomic="true">${create}${'<SEARCH><WEBACCOUNT/></SEARCH>'.repeat(5)}${create}</QUERY>`, ADMIN);
    const answers = codes(xml);
    assert.equal(answers[0], 'ROLLED_BACK');
    assert.ok(answers.includes('BUDGET_RESPONSE_BYTES'), answers.join(' '));
    assert.equal(answers.at(-1), 'NOT_RUN');
    const { rows } = (await engine.database.knex.raw("SELECT count(*)::int AS n FROM webaccount WHERE denomination = 'atomic-budget'")) as { rows: [{ n: number }] };
    assert.equal(rows[0].n, 0);
  });
});

// PostgreSQL cuts a statement at statement_timeout; PGlite runs in this process, with no timer to cut one.
describeIn('postgres')('the time budget of a slow statement', function () {
  this.timeout(60_000);
  let engine: Engine;
  before(async () => {
    engine = await makeEngine({ budget: { timeoutMs: 700 } });
    await seedApi(engine, 'mastodon', '', 'oauth1');
    await seedAccount(engine, ADMIN, 'mastodon');
    // The database itself is slow to update this table: 5 s a row.
    await engine.database.knex.raw(`CREATE OR REPLACE FUNCTION nori_test_slow() RETURNS trigger AS $$ BEGIN PERFORM pg_sleep(5); RETURN NEW; END $$ LANGUAGE plpgsql`);
    await engine.database.knex.raw('CREATE TRIGGER nori_test_slow BEFORE UPDATE ON webaccount FOR EACH ROW EXECUTE FUNCTION nori_test_slow()');
  });
  after(async () => engine?.close());

  it('is cut when the request\'s time is up: BUDGET_TIME, nothing written, and the rest not run', async () => {
    const started = Date.now();
    const xml = await engine.execute(q('<UPDATE><WEBACCOUNT ID="1"><INFO><DENOMINATION>slow</DENOMINATION></INFO></WEBACCOUNT></UPDATE><GET><WEBACCOUNT ID="1"/></GET>'), ADMIN);
    assert.ok(Date.now() - started < 4000, 'cut long before the statement would have ended');
    assert.deepEqual(codes(xml), ['BUDGET_TIME', 'BUDGET_TIME']);
    assert.equal(((await engine.database.knex('webaccount').first('denomination').where('id', 1)) as { denomination: string | null }).denomination, null);
  });
});

describe('the time budget of a batch of CALLs', function () {
  this.timeout(60_000);
  let engine: Engine;
  let echo: Echo;
  const TIMEOUT_MS = 1500;

  before(async () => {
    echo = await startEcho();
    engine = await makeEngine({ plugins: { builtins: false, ...ECHO_PLUGINS }, authorization: { publicUrl: PUBLIC_URL }, calls: { timeoutMs: 10_000, budgetMs: 30_000 }, budget: { timeoutMs: TIMEOUT_MS } });
    await engine.database.knex.raw('TRUNCATE webaccount, webapi, nori_transitions, nori_pending_flows RESTART IDENTITY');
    await engine.changes.sync();
    await seedEchoApi(engine, echo);
  });
  after(async () => {
    await engine?.close();
    await echo?.peer.close();
  });

  it('20 CALLs to a service that takes 400 ms stop at the budget; the rest are never sent', async () => {
    const id = await authorizedAccount(engine, ALICE);
    const before = echo.peer.count('/echo');
    echo.peer.inject({ path: '/echo', delayMs: 400, status: 200, body: '{"slow":true}' }, 20);
    const started = Date.now();
    const xml = await engine.execute(q(`<CALL><WEBACCOUNT ID="${id}"><READ><ID>1</ID></READ></WEBACCOUNT></CALL>`.repeat(20)), ALICE);
    const elapsed = Date.now() - started;
    const answers = replies(xml);
    assert.equal(answers.length, 20);
    const budget = answers.filter((a) => a.attrs.errorCode === 'BUDGET_TIME');
    assert.ok(budget.length >= 10, `${budget.length} answered BUDGET_TIME`);
    const sent = echo.peer.count('/echo') - before;
    assert.equal(sent, 20 - budget.length, 'a command cut by the budget sent nothing');
    // One in-flight request may run to the end of the budget, never 20 × 400 ms.
    assert.ok(elapsed < TIMEOUT_MS + 1500, `${elapsed} ms`);
  });
});
