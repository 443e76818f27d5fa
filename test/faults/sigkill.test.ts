/**
 * SIGKILL mid-batch: a real `nori serve` process on PostgreSQL is killed (kill -9) while an atomic batch of
 * thousands of CREATEs runs, beside a per-command batch and clients being acknowledged small batches. Once nori
 * is started again, nothing acknowledged is lost, the atomic batch left nothing, and every row is whole.
 */
import assert from 'node:assert/strict';
import knexFactory, { type Knex } from 'knex';
import { PG_URL, describeIn } from '../helpers/engine.js';
import { createAdminKey, noriEnv, startNori, type NoriProcess } from '../helpers/nori-process.js';
import { replies, type Reply } from '../helpers/xml.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, ready: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting ${ms} ms for ${what}`);
    await sleep(5);
  }
}

const account = (marker: string) => `<CREATE><WEBACCOUNT><INFO><API>twitter</API><DENOMINATION>${marker}</DENOMINATION><LOGIN>${marker}@login</LOGIN></INFO></WEBACCOUNT></CREATE>`;
/** A GET between two CREATEs keeps each CREATE a command of its own (consecutive ones may be grouped). */
const spaced = (creates: string[]) => creates.map((c) => `${c}<GET><WEBAPI ID="1"/></GET>`).join('');

describeIn('postgres')('nori serve killed (SIGKILL) mid-batch', function () {
  this.timeout(60_000);
  const processes: NoriProcess[] = [];
  let env: NodeJS.ProcessEnv;
  let url: string;
  let key: string;
  let db: Knex;

  before(async () => {
    const made = await noriEnv();
    ({ env, url } = made);
    key = await createAdminKey(env);
    db = knexFactory({ client: 'pg', connection: PG_URL, searchPath: [made.schema], pool: { min: 0, max: 2 } });
  });
  after(async () => {
    for (const p of processes) await p.stop();
    await db?.destroy();
  });

  const post = async (body: string): Promise<Reply[] | string> => {
    try {
      const res = await fetch(url + '/', { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/xml' }, body });
      const text = await res.text();
      return res.status === 200 ? replies(text) : `HTTP ${res.status}: ${text.slice(0, 200)}`;
    } catch (e) {
      return `${(e as Error).message}: ${String((e as { cause?: { code?: string } }).cause?.code)}`;
    }
  };

  it('loses nothing acknowledged and leaves no half command: the atomic batch is all or nothing', async () => {
    const first = await startNori(env);
    processes.push(first);
    // WEBAPIs come only from the atomic batch: their id sequence (not transactional) shows how far it has gone.
    const atomicN = 3000;
    const seq = async () => Number((await db.raw(`SELECT last_value FROM webapi_id_seq`)).rows[0].last_value);
    const base = await seq();
    const atomic = post(`<QUERY atomic="true">${spaced(Array.from({ length: atomicN }, (_, i) => `<CREATE><WEBAPI><INFO><DENOMINATION>atomic-${i}</DENOMINATION><AUTH_TYPE>oauth2</AUTH_TYPE></INFO></WEBAPI></CREATE>`))}</QUERY>`);
    const eachN = 1500;
    const each = post(`<QUERY>${spaced(Array.from({ length: eachN }, (_, i) => account(`each-${i}`)))}</QUERY>`);

    // Clients acknowledged until the kill: 5 CREATEs a batch, every other one atomic.
    const acknowledged: { marker: string; id: number }[] = [];
    const small: { atomic: boolean; markers: string[] }[] = [];
    let killed = false;
    const client = async (c: number) => {
      for (let b = 0; !killed; b++) {
        const markers = Array.from({ length: 5 }, (_, k) => `small-${c}-${b}-${k}`);
        small.push({ atomic: b % 2 === 1, markers });
        const answers = await post(`<QUERY${b % 2 ? ' atomic="true"' : ''}>${markers.map(account).join('')}</QUERY>`);
        if (typeof answers === 'string') continue;
        answers.forEach((r, k) => r.attrs.msgType === '0' && acknowledged.push({ marker: markers[k]!, id: Number(r.attrs.elementID) }));
      }
    };
    const clients = Array.from({ length: 3 }, (_, c) => client(c));

    await waitFor('the atomic batch to be a third of the way', async () => (await seq()) >= base + atomicN / 3);
    first.child.kill('SIGKILL');
    killed = true;
    const exit = await first.exited;
    assert.deepEqual(exit, { code: null, signal: 'SIGKILL' });
    const [atomicAnswer, eachAnswer] = await Promise.all([atomic, each, ...clients]);
    assert.equal(typeof atomicAnswer, 'string', 'the atomic batch got no answer: it was cut');
    assert.equal(typeof eachAnswer, 'string', 'the per-command batch got no answer: it was cut');
    assert.ok(acknowledged.length >= 5, 'small batches were acknowledged before the kill');

    const second = await startNori(env);
    processes.push(second);

    // The atomic batch: nothing (it was cut before its end, so it never committed).
    const atomicRows = Number((await db('webapi').count({ n: '*' }).where('denomination', 'like', 'atomic-%'))[0]!.n);
    assert.equal(atomicRows, 0, `the atomic batch of ${atomicN} left ${atomicRows} rows`);

    // Every acknowledged CREATE is there, whole, with the ID its client was told.
    const rows = new Map(
      ((await db('webaccount').select('id', 'denomination', 'login', 'api', 'ownerid')) as { id: number; denomination: string; login: string; api: string; ownerid: number }[]).map((r) => [r.denomination, r]),
    );
    for (const { marker, id } of acknowledged) assert.deepEqual(rows.get(marker), { id, denomination: marker, login: `${marker}@login`, api: 'twitter', ownerid: 1 }, `acknowledged ${marker}`);
    // The rest are whole rows too, or absent; an atomic small batch all or nothing.
    for (const [marker, row] of rows) assert.deepEqual(row, { id: row.id, denomination: marker, login: `${marker}@login`, api: 'twitter', ownerid: 1 });
    for (const s of small.filter((x) => x.atomic)) {
      const present = s.markers.filter((m) => rows.has(m)).length;
      assert.ok(present === 0 || present === s.markers.length, `atomic small batch ${s.markers[0]} left ${present} of 5 rows`);
    }
    // The per-command batch committed its commands in order, each whole: a prefix of it is there.
    const committed = [...rows.keys()].filter((m) => m.startsWith('each-')).length;
    assert.ok(committed > 0 && committed < eachN, `the per-command batch was cut mid-way (${committed} of ${eachN})`);
    for (let i = 0; i < committed; i++) assert.ok(rows.has(`each-${i}`), `each-${i} is missing although each-${committed - 1} was written`);

    // The restarted nori serves what the first one acknowledged.
    const last = acknowledged.at(-1)!;
    const got = await post(`<QUERY><GET><WEBACCOUNT ID="${last.id}"/></GET></QUERY>`);
    assert.ok(typeof got !== 'string', got as string);
    assert.equal(got[0]!.elements[0]?.fields.DENOMINATION, last.marker);
    console.log(`      killed at ${(await seq()) - base} of ${atomicN} atomic CREATEs; ${committed} of ${eachN} per-command CREATEs and ${acknowledged.length} acknowledged small ones kept`);
  });
});
