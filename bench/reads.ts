/**
 * @module bench/reads
 * 2. Batch reads: a SEARCH answering 1,000 accounts over HTTP, against a bare SELECT of the same rows
 * serialised to the same bytes by plain escaped string building.
 */
import type { Knex } from 'knex';
import { alternate, expect, figure, median, missed, openBed, OWNER, post, statementsNote, statementsOf, timed, type BenchResult, type Settings } from './common.js';
import { hotspots, profileInProcess, withHotspots } from './profile.js';
import { ACCOUNT_COLUMNS, accountRecord, createBatch, resultsXml, saxesRows } from './xml.js';

/** Writes n accounts of OWNER straight into the table (the fixture, not the thing measured). */
export async function seedAccounts(knex: Knex, n: number): Promise<void> {
  const now = new Date();
  const rows = saxesRows(createBatch(n)).map((row) => accountRecord(row, OWNER, now));
  for (let i = 0; i < rows.length; i += 1000) await knex('webaccount').insert(rows.slice(i, i + 1000));
}

/** The floor's read: the same rows by one SELECT, the same visibility rule, serialised by string building. */
export async function floorSearch(knex: Knex, n: number): Promise<string> {
  const { rows } = await knex.raw(
    `SELECT ${ACCOUNT_COLUMNS.map((c) => `"${c}"`).join(', ')} FROM webaccount
      WHERE (ownerid = ? OR public IN ('R', 'W')) AND activity = 1 AND api = ? ORDER BY id LIMIT ?`,
    [OWNER.contactId, 'bench', n],
  );
  return resultsXml('SEARCH', rows as Record<string, unknown>[], { hits: rows.length, page: 1, pages: 1, 'last-page': 'true' }, OWNER);
}

export async function batchReads(given: Settings): Promise<BenchResult> {
  // Cheap to repeat: more turns than the default steady the median.
  const settings = given.quick ? given : { ...given, reps: given.reps * 3, warmup: given.warmup + 1 };
  const n = settings.quick ? 100 : 1000;
  const search = `<QUERY><SEARCH><WEBACCOUNT><INFO><API>bench</API></INFO></WEBACCOUNT><PAGINATE display="${n}" page="1"/></SEARCH></QUERY>`;
  const bed = await openBed();
  const knex = bed.engine.database.knex;
  try {
    await seedAccounts(knex, n);
    const first = await post(bed.url, bed.key, search);
    const same = await floorSearch(knex, n);
    expect(first.status === 200 && first.body.includes(`hits="${n}"`), `SEARCH answered ${first.status}: ${first.body.slice(0, 200)}`);
    expect(first.body === same, `the floor's XML differs from nori's at ${[...first.body].findIndex((c, i) => c !== same[i])}`);
    const noriOnce = () => post(bed.url, bed.key, search);
    settings.log(`reads: SEARCH of ${n} accounts (${first.body.length} bytes), ${settings.reps} repetitions each`);
    const { a, b } = await alternate(settings, () => timed(noriOnce), () => timed(() => floorSearch(knex, n)));
    const sql = await statementsOf(knex, noriOnce);
    const noriMs = median(a);
    const floorMs = median(b);
    const result: BenchResult = {
      id: 'reads',
      title: `Batch reads (SEARCH of ${n.toLocaleString('en')})`,
      nori: `one POST of a SEARCH answering ${n.toLocaleString('en')} accounts, answer read to the end`,
      floor: 'one bare SELECT of the same rows (same visibility rule), serialised to the same bytes by plain escaped string building',
      measurements: { rows: n, responseBytes: first.body.length, noriMs, floorMs, statements: sql.length, rowsPerSecond: (n / noriMs) * 1000 },
      figures: [figure('nori time ÷ floor time', noriMs / floorMs, 'x', '<=', 2)],
      notes: ['The floor answers byte for byte what nori answers (checked before timing).', statementsNote('the SEARCH', sql)],
    };
    if (!missed(result)) return result;
    const times = settings.quick ? 2 : 20;
    const profile = await profileInProcess(async () => {
      for (let i = 0; i < times; i++) await noriOnce();
    });
    return withHotspots(result, hotspots(profile, `${times} SEARCHes, in the process running both the server and its client`));
  } finally {
    await bed.close();
  }
}
