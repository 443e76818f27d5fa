/**
 * @module bench/writes
 * 1. Batch writes: one batch of 1,000 CREATE WEBACCOUNT over HTTP to a nori server on PostgreSQL, against a
 * bare saxes pass over the same document plus one multi-row INSERT of the same rows.
 */
import { alternate, expect, figure, median, missed, openBed, OWNER, post, timed, statementsNote, statementsOf, truncate, type BenchResult, type Settings } from './common.js';
import { hotspots, profileInProcess, withHotspots } from './profile.js';
import { accountRecord, createBatch, saxesRows } from './xml.js';

const created = (xml: string) => xml.split('msgType="0"').length - 1;

export async function batchWrites(given: Settings): Promise<BenchResult> {
  // Cheap to repeat: more turns than the default steady the median.
  const settings = given.quick ? given : { ...given, reps: given.reps * 3, warmup: given.warmup + 1 };
  const n = settings.quick ? 100 : 1000;
  const doc = createBatch(n);
  const bed = await openBed();
  const knex = bed.engine.database.knex;
  try {
    const noriOnce = async () => {
      const r = await post(bed.url, bed.key, doc);
      expect(r.status === 200 && created(r.body) === n, `nori answered ${r.status} with ${created(r.body)} of ${n} created`);
    };
    const nori = async () => {
      await truncate(bed.engine);
      return timed(noriOnce);
    };
    const floor = async () => {
      await truncate(bed.engine);
      return timed(async () => {
        const now = new Date();
        const rows = saxesRows(doc).map((row) => accountRecord(row, OWNER, now));
        await knex('webaccount').insert(rows);
      });
    };
    settings.log(`writes: ${n} CREATEs, ${settings.reps} repetitions each`);
    const { a, b } = await alternate(settings, nori, floor);
    await truncate(bed.engine);
    const sql = await statementsOf(knex, noriOnce);
    const noriMs = median(a);
    const floorMs = median(b);
    const result: BenchResult = {
      id: 'writes',
      title: `Batch writes (${n.toLocaleString('en')} CREATE)`,
      nori: `one POST of ${n.toLocaleString('en')} CREATE WEBACCOUNT to a nori server on PostgreSQL, answer read to the end`,
      floor: 'a bare saxes pass over the same document, then one multi-row knex INSERT of the same rows',
      measurements: { commands: n, bytes: Buffer.byteLength(doc), noriMs, floorMs, statements: sql.length, commandsPerSecond: (n / noriMs) * 1000 },
      figures: [figure('nori time ÷ floor time', noriMs / floorMs, 'x', '<=', 2)],
      notes: [statementsNote(`the batch of ${n} (the API key's lookup included)`, sql)],
    };
    if (!missed(result)) return result;
    const profile = await profileInProcess(async () => {
      for (let i = 0; i < Math.max(1, settings.reps); i++) await nori();
    });
    return withHotspots(result, hotspots(profile, `${Math.max(1, settings.reps)} batches, in the process running both the server and its client`));
  } finally {
    await bed.close();
  }
}
