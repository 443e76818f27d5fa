/**
 * The principal is checked where it enters the engine: a JavaScript caller passing a session's values as they
 * came gets a TypeError naming the field, never a batch run as admin nor an INTERNAL_ERROR that logs the value.
 */
import assert from 'node:assert/strict';
import type { Principal } from '../../src/principal.js';
import { useEngine } from '../helpers/engine.js';
import { only } from '../helpers/xml.js';

const CREATE_WEBAPI = '<QUERY><CREATE><WEBAPI><INFO><DENOMINATION>mastodon</DENOMINATION><AUTH_TYPE>oauth1</AUTH_TYPE></INFO></WEBAPI></CREATE></QUERY>';

describe('the principal entering the engine', () => {
  const t = useEngine();

  const bad: [string, unknown, RegExp][] = [
    ['admin as the string "false"', { contactId: 8, groups: [], admin: 'false' }, /principal\.admin must be true or false/],
    ['admin as 1', { contactId: 8, groups: [], admin: 1 }, /principal\.admin/],
    ['no admin', { contactId: 8, groups: [] }, /principal\.admin/],
    ['no groups', { contactId: 8, admin: false }, /principal\.groups must be an array/],
    ['a group that is not a whole number', { contactId: 8, groups: ['10'], admin: false }, /principal\.groups must hold positive whole numbers/],
    ['a contact id of 7.5', { contactId: 7.5, groups: [], admin: false }, /principal\.contactId must be a positive whole number/],
    ['a contact id as a string', { contactId: '8', groups: [], admin: true }, /principal\.contactId/],
    ['a contact id of 0', { contactId: 0, groups: [], admin: false }, /principal\.contactId/],
    ['null', null, /the principal must be an object/],
  ];
  for (const [what, principal, message] of bad) {
    it(`refuses ${what} with a TypeError, running nothing`, async () => {
      await assert.rejects(t.engine.execute(CREATE_WEBAPI, principal as Principal), (e: Error) => e instanceof TypeError && message.test(e.message));
      const { rows } = (await t.engine.database.knex.raw('SELECT count(*)::int AS n FROM webapi WHERE denomination = ?', ['mastodon'])) as { rows: [{ n: number }] };
      assert.equal(rows[0].n, 0);
    });
  }

  it('a principal changed by its caller while the batch runs changes nothing of it', async () => {
    const p = { contactId: 8, groups: [] as number[], admin: false };
    const running = t.engine.execute(CREATE_WEBAPI, p);
    p.admin = true;
    assert.equal(only(await running).attrs.errorCode, 'ADMIN_ONLY');
  });

  it('runs a well-formed principal', async () => {
    assert.equal(only(await t.engine.execute(CREATE_WEBAPI, { contactId: 1, groups: [3], admin: true })).attrs.msgType, '0');
  });
});

describe('the principal of a new API key', () => {
  const t = useEngine();

  it('is checked as a batch principal is: a string admin is refused, not stored as true', async () => {
    const spec = { contactId: 9, admin: 'yes' } as unknown as Parameters<typeof t.engine.keys.create>[0];
    await assert.rejects(t.engine.keys.create(spec), (e: Error) => e instanceof TypeError && /principal\.admin/.test(e.message));
    await assert.rejects(t.engine.keys.create({ contactId: 9, groups: [1.5] }), TypeError);
    assert.deepEqual(await t.engine.keys.list(), []);
  });
});
