/**
 * SQL metacharacters in every criterion of every searchable field of both elements, with every operator: the
 * answer is exactly the literal matches (case and accents folded for the text operators) (checked against the stored rows, or against a parameterised query for
 * orderings, whose answer depends on the database's collation) or the documented refusal; the tables are intact.
 */
import assert from 'node:assert/strict';
import { WEBACCOUNT, WEBAPI, type ElementDef, type FieldDef } from '../../schemas/index.js';
import type { Engine } from '../../src/engine.js';
import type { Principal } from '../../src/principal.js';
import { ADMIN, ALICE, CAROL, makeEngine } from '../helpers/engine.js';
import { expectError, expectOk, only, q, replies, type Reply } from '../helpers/xml.js';

/** No leading or trailing blanks (values are trimmed), no comma (IN's separator), at most 64 characters. */
const PAYLOADS = ["'; DROP TABLE webaccount; --", '%', '_', '\\', "'", '"', "''", "\\'", '%_', 'a%b', 'a_b', "' OR '1'='1", '" OR ""="', '$1', '?', '??', ':id',
  "E'\\x41'", 'été 😀 \u202eevil', '--', '/* */', ';', 'x\\%y'];
/** Rows a LIKE or a broken escape would wrongly match. */
const DECOYS = ['axb', 'aXb', 'ab', 'plain', 'x%y', 'xy'];
const OPERATORS = ['=', '!=', 'IN', 'NOT IN', 'starts-with', 'ends-with', 'contains', 'GT', 'GT=', 'LT', 'LT=', 'between'] as const;
type Op = (typeof OPERATORS)[number];
const TEXTUAL = new Set(['text', 'url', 'enum', 'reference']);
const TEXT_OPS: ReadonlySet<Op> = new Set(['starts-with', 'ends-with', 'contains']);
/** Case and accents folded, as the text operators compare (docs/commands.md): enough for these payloads. */
const fold = (s: string) => s.toLowerCase().normalize('NFD').replace(/[\u0300-\u036f]/g, '');
const ORDERING: Record<string, string> = { GT: '>', 'GT=': '>=', LT: '<', 'LT=': '<=' };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const asUrl = (p: string) => `https://h.test/${p}`;
const searchable = (e: ElementDef) => Object.entries(e.fields).filter(([, f]) => f.type !== 'secret' && f.type !== 'map');

interface Case { element: ElementDef; field: string; def: FieldDef; op: Op; payload: string; text: string }

/** The value a criterion carries: URL fields take the payload inside a URL, other fields as it is. */
function caseFor(element: ElementDef, field: string, def: FieldDef, op: Op, payload: string): Case {
  const v = def.type === 'url' ? asUrl(payload) : payload;
  const text = op === 'IN' || op === 'NOT IN' ? `${v},${def.type === 'url' ? asUrl('axb') : 'axb'}` : op === 'between' ? `${v}/${v}` : v;
  return { element, field, def, op, payload, text };
}

/** The documented refusal for a criterion, or undefined when it must run. */
function refusal(c: Case): string | undefined {
  if (TEXT_OPS.has(c.op) && !TEXTUAL.has(c.def.type)) return 'UNKNOWN_OPERATOR';
  if (ORDERING[c.op] !== undefined || c.op === 'between') if (c.def.type === 'flag') return 'UNKNOWN_OPERATOR';
  // A text operator reads its value as text, whatever the field's type.
  if (TEXT_OPS.has(c.op)) return undefined;
  if (!TEXTUAL.has(c.def.type) || c.def.type === 'enum') return 'INVALID_VALUE';
  if (c.op === 'between' && c.text.split('/').length !== 2) return 'INVALID_VALUE';
  return undefined;
}

describe('security: SQL metacharacters in every criterion', function () {
  this.timeout(180_000);
  let engine: Engine;
  const rows = new Map<string, Record<string, unknown>[]>();
  const ordered = new Map<string, number[]>();

  before(async function () {
    this.timeout(60_000);
    engine = await makeEngine({ plugins: { builtins: false } });
    const apis = [...PAYLOADS, ...DECOYS].map((p) => `<CREATE><WEBAPI><INFO><DENOMINATION>${esc(p)}</DENOMINATION><AUTH_TYPE>oauth2</AUTH_TYPE><DESCRIPTION>x${esc(p)}y</DESCRIPTION><CLIENT_ID>${esc(p)}</CLIENT_ID><SCOPES>${esc(p)} read</SCOPES>${['BASE_URL', 'REQUEST_TOKEN_URL', 'AUTHORIZE_URL', 'TOKEN_URL', 'REVOKE_URL'].map((f) => `<${f}>${esc(asUrl(p))}</${f}>`).join('')}</INFO></WEBAPI></CREATE>`);
    for (const r of replies(await engine.execute(q(...apis), ADMIN))) expectOk(r);
    const accounts = [...PAYLOADS, ...DECOYS].map((p, i) => `<CREATE><WEBACCOUNT><INFO><API>${esc(p)}</API><DENOMINATION>${esc(p)}</DENOMINATION><LOGIN>x${esc(p)}y</LOGIN><OWNERID>${[2, 4, 4][i % 3]}</OWNERID>${i % 3 === 1 ? '<PUBLIC>R</PUBLIC>' : ''}</INFO></WEBACCOUNT></CREATE>`);
    for (const r of replies(await engine.execute(q(...accounts), ADMIN))) expectOk(r);
    // Fields only nori writes, given payloads too so that their criteria have something to match.
    const knex = engine.database.knex;
    for (const [i, p] of [...PAYLOADS, ...DECOYS].entries()) await knex('webaccount').update({ state_reason: `because ${p}`, granted_scopes: p }).where('id', i + 1);
    for (const e of [WEBAPI, WEBACCOUNT]) rows.set(e.name, await knex(e.table).select('*').orderBy('id'));
  });
  after(async () => engine.close());

  /** What the rows say a criterion must match; orderings ask the database with a parameterised query. */
  async function expected(c: Case, who: Principal): Promise<string[]> {
    const column = c.field.toLowerCase();
    const values = c.op === 'IN' || c.op === 'NOT IN' ? c.text.split(',') : c.op === 'between' ? c.text.split('/') : [c.text];
    let ids: number[];
    if (ORDERING[c.op] !== undefined || c.op === 'between') {
      const sql = c.op === 'between' ? `SELECT id FROM ${c.element.table} WHERE ${column} BETWEEN $1 AND $2` : `SELECT id FROM ${c.element.table} WHERE ${column} ${ORDERING[c.op]} $1`;
      const key = JSON.stringify([sql, values]);
      if (!ordered.has(key)) ordered.set(key, ((await engine.database.knex.raw(sql.replace(/\$\d/g, '?'), values)) as { rows: { id: number }[] }).rows.map((r) => r.id));
      ids = ordered.get(key)!;
    } else {
      const match = (v: unknown): boolean => {
        const s = v as string | null;
        switch (c.op) {
          case '=': return s === values[0];
          case '!=': return s === null || s !== values[0];
          case 'IN': return s !== null && values.includes(s);
          case 'NOT IN': return s === null || !values.includes(s);
          case 'starts-with': return s !== null && fold(s).startsWith(fold(values[0]!));
          case 'ends-with': return s !== null && fold(s).endsWith(fold(values[0]!));
          // Every word of the value, anywhere in the field.
          default: return s !== null && values[0]!.split(/\s+/).every((word) => fold(s).includes(fold(word)));
        }
      };
      ids = rows.get(c.element.name)!.filter((r) => match(r[column])).map((r) => r.id as number);
    }
    const visible = (r: Record<string, unknown>) => who.admin || c.element.adminWrite || r.ownerid === who.contactId || who.groups.includes(r.groupid as number) || r.public === 'R' || r.public === 'W';
    const allowed = new Set(rows.get(c.element.name)!.filter(visible).map((r) => r.id as number));
    return ids.filter((id) => allowed.has(id)).sort((a, b) => a - b).map(String);
  }

  for (const element of [WEBAPI, WEBACCOUNT]) {
    it(`${element.name}: every operator on every searchable field answers the literal matches or the documented refusal`, async () => {
      const cases = searchable(element).flatMap(([field, def]) => OPERATORS.flatMap((op) => PAYLOADS.map((p) => caseFor(element, field, def, op, p))));
      const command = (c: Case) => `<SEARCH><${element.name}><INFO><${c.field} operator="${c.op}">${esc(c.text)}</${c.field}></INFO></${element.name}><PAGINATE display="1000"/><RETURN><INFO><ID/></INFO></RETURN></SEARCH>`;
      // Everyone reads every WEBAPI; accounts are seen by owner, group and PUBLIC, so a user and a stranger differ.
      for (const who of element.adminWrite ? [ALICE] : [ADMIN, ALICE, CAROL]) {
        for (let i = 0; i < cases.length; i += 1000) {
          const chunk = cases.slice(i, i + 1000);
          const r = await engine.run(q(...chunk.map(command)), who);
          assert.equal(r.status, 200);
          const answers = replies(r.xml);
          assert.equal(answers.length, chunk.length);
          for (const [k, c] of chunk.entries()) {
            const label = `${element.name} ${c.field} ${c.op} ${JSON.stringify(c.text)} as contact ${who.contactId}`;
            const answer: Reply = answers[k]!;
            const code = refusal(c);
            if (code) {
              expectError(answer, code);
              continue;
            }
            assert.equal(answer.tag, 'RESULTS', `${label}: ${answer.attrs.errorCode} ${answer.text}`);
            assert.deepEqual(answer.elements.map((e) => e.id).sort((a, b) => Number(a) - Number(b)), await expected(c, who), label);
          }
        }
      }
    });
  }

  it('takes metacharacters as plain values in IDs, SORT, PAGINATE, operators and writes, and leaves every table intact', async () => {
    for (const p of PAYLOADS) {
      const x = esc(p);
      expectError(only(await engine.execute(q(`<GET><WEBACCOUNT ID="${x.replace(/"/g, '&quot;')}"/></GET>`), ADMIN)), 'INVALID_ID');
      expectError(only(await engine.execute(q(`<SEARCH><WEBACCOUNT/><SORT select="${x.replace(/"/g, '&quot;')}"/></SEARCH>`), ADMIN)), 'UNKNOWN_FIELD');
      expectError(only(await engine.execute(q(`<SEARCH><WEBACCOUNT/><PAGINATE display="${x.replace(/"/g, '&quot;')}"/></SEARCH>`), ADMIN)), 'INVALID_VALUE');
      expectError(only(await engine.execute(q(`<SEARCH><WEBACCOUNT><INFO><LOGIN operator="${x.replace(/"/g, '&quot;')}">a</LOGIN></INFO></WEBACCOUNT></SEARCH>`), ADMIN)), 'UNKNOWN_OPERATOR');
      // Written and read back exactly.
      const id = expectOk(only(await engine.execute(q(`<CREATE><WEBACCOUNT><INFO><API>plain</API><DENOMINATION>${x}</DENOMINATION><LOGIN>${x}</LOGIN></INFO></WEBACCOUNT></CREATE>`), ALICE))).attrs.elementID!;
      expectOk(only(await engine.execute(q(`<UPDATE><WEBACCOUNT ID="${id}"><INFO><LOGIN>${x}${x}</LOGIN></INFO></WEBACCOUNT></UPDATE>`), ALICE)));
      const got = only(await engine.execute(q(`<GET><WEBACCOUNT ID="${id}"/></GET>`), ALICE)).elements[0]!.fields;
      assert.deepEqual([got.DENOMINATION, got.LOGIN], [p, p + p]);
      expectOk(only(await engine.execute(q(`<KILL><WEBACCOUNT ID="${id}"/></KILL>`), ALICE)));
    }
    const knex = engine.database.knex;
    for (const table of ['webapi', 'webaccount', 'nori_api_keys', 'nori_transitions', 'nori_pending_flows']) {
      assert.ok(await knex.schema.hasTable(table), `${table} is still there`);
    }
    const counted = async (table: string) => Number(((await knex(table).count({ n: '*' })) as { n: number | string }[])[0]!.n);
    assert.deepEqual([await counted('webapi'), await counted('webaccount')], [PAYLOADS.length + DECOYS.length, PAYLOADS.length + DECOYS.length]);
    assert.deepEqual((await knex('webaccount').select('*').orderBy('id')).map((r: Record<string, unknown>) => [r.id, r.denomination, r.login]), rows.get('WEBACCOUNT')!.map((r) => [r.id, r.denomination, r.login]), 'no row changed');
  });
});
