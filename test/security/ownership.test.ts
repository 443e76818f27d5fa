/**
 * Hostile callers with an ordinary key: planting an account on someone else, moving an account that holds
 * tokens to another service, using a deleted account, and overwriting another writer within the same second.
 */
import assert from 'node:assert/strict';
import { applyEvent, isTransition } from '../../src/auth/transitions.js';
import { ADMIN, ALICE, BOB, CAROL, useEngine } from '../helpers/engine.js';
import { seedAccount, seedApi } from '../helpers/seed.js';
import { only, q } from '../helpers/xml.js';

describe('ownership and account life, against hostile callers', () => {
  const t = useEngine();
  const run = async (xml: string, who = ALICE) => only(await t.engine.execute(q(xml), who));
  const stored = async (id: number) =>
    (await t.engine.database.knex('webaccount').first('ownerid', 'groupid', 'api', 'denomination', 'activity', 'authorization_state', 'token').where('id', id)) as
      { ownerid: number; groupid: number | null; api: string; denomination: string | null; activity: number; authorization_state: string; token: unknown } | undefined;

  /** An account of ALICE's on `api`, authorized with a (stored, encrypted) token through the state machine. */
  async function authorized(api = 'mastodon'): Promise<number> {
    const id = await seedAccount(t.engine, ALICE, api, '<PUBLIC>W</PUBLIC>');
    await t.engine.database.knex.transaction(async (trx) => {
      assert.ok(isTransition(await applyEvent(trx, id, 'request', { contactId: ALICE.contactId })));
      assert.ok(isTransition(await applyEvent(trx, id, 'grant', { contactId: null, columns: { token: t.engine.keyring.encrypt('owner-token', 'webaccount.token') } })));
    });
    return id;
  }

  beforeEach(async () => {
    await seedApi(t.engine, 'mastodon', '', 'oauth1');
    await seedApi(t.engine, 'pixelfed', '', 'oauth1');
  });

  describe('planted accounts', () => {
    it('a non-admin cannot CREATE an account owned by another contact', async () => {
      const r = await run('<CREATE><WEBACCOUNT><INFO><API>mastodon</API><OWNERID>3</OWNERID><PUBLIC>W</PUBLIC></INFO></WEBACCOUNT></CREATE>');
      assert.equal(r.attrs.errorCode, 'OWNER_FORBIDDEN');
      assert.equal(r.attrs.msgType, '3');
      assert.equal((await t.engine.database.knex('webaccount').count({ n: '*' }))[0]!.n, 0);
    });

    it('nor in a grouped run of CREATEs, nor in an atomic batch', async () => {
      const plant = '<CREATE><WEBACCOUNT><INFO><API>mastodon</API><OWNERID>3</OWNERID></INFO></WEBACCOUNT></CREATE>';
      const mine = '<CREATE><WEBACCOUNT><INFO><API>mastodon</API></INFO></WEBACCOUNT></CREATE>';
      const grouped = await t.engine.run(q(mine + plant + mine), ALICE);
      assert.deepEqual(grouped.answers.map((a) => (a.outcome.kind === 'failed' ? a.outcome.failure.code : a.outcome.kind)), ['done', 'OWNER_FORBIDDEN', 'done']);
      const atomic = await t.engine.run(`<QUERY atomic="true">${mine}${plant}</QUERY>`, ALICE);
      assert.deepEqual(atomic.answers.map((a) => (a.outcome.kind === 'failed' ? a.outcome.failure.code : a.outcome.kind)), ['ROLLED_BACK', 'OWNER_FORBIDDEN']);
      const owners = (await t.engine.database.knex('webaccount').pluck('ownerid')) as number[];
      assert.deepEqual(owners, [ALICE.contactId, ALICE.contactId]);
    });

    it('a non-admin sets GROUPID only to a group of its own', async () => {
      assert.equal((await run('<CREATE><WEBACCOUNT><INFO><API>mastodon</API><GROUPID>20</GROUPID></INFO></WEBACCOUNT></CREATE>')).attrs.errorCode, 'GROUP_FORBIDDEN');
      assert.equal((await run('<CREATE><WEBACCOUNT><INFO><API>mastodon</API><GROUPID>10</GROUPID></INFO></WEBACCOUNT></CREATE>')).attrs.msgType, '0');
      assert.equal((await run('<CREATE><WEBACCOUNT><INFO><API>mastodon</API><OWNERID>2</OWNERID></INFO></WEBACCOUNT></CREATE>')).attrs.msgType, '0', 'its own contact is fine');
    });

    it('the owner cannot UPDATE its account over to another contact or a foreign group; an admin can', async () => {
      const id = await seedAccount(t.engine, ALICE, 'mastodon');
      assert.equal((await run(`<UPDATE><WEBACCOUNT ID="${id}"><INFO><OWNERID>3</OWNERID></INFO></WEBACCOUNT></UPDATE>`)).attrs.errorCode, 'OWNER_FORBIDDEN');
      assert.equal((await run(`<UPDATE><WEBACCOUNT ID="${id}"><INFO><GROUPID>20</GROUPID></INFO></WEBACCOUNT></UPDATE>`)).attrs.errorCode, 'GROUP_FORBIDDEN');
      assert.deepEqual([(await stored(id))!.ownerid, (await stored(id))!.groupid], [ALICE.contactId, null]);
      assert.equal((await run(`<UPDATE><WEBACCOUNT ID="${id}"><INFO><OWNERID>3</OWNERID><GROUPID>20</GROUPID></INFO></WEBACCOUNT></UPDATE>`, ADMIN)).attrs.msgType, '0');
      assert.equal((await stored(id))!.ownerid, BOB.contactId);
    });
  });

  describe('an account holding tokens keeps its WEBAPI', () => {
    it('UPDATE of API on an authorized account is refused and its token stays with its service', async () => {
      const id = await authorized();
      const r = await run(`<UPDATE><WEBACCOUNT ID="${id}"><INFO><API>pixelfed</API></INFO></WEBACCOUNT></UPDATE>`);
      assert.equal(r.attrs.errorCode, 'API_NOT_MOVABLE');
      assert.equal((await stored(id))!.api, 'mastodon');
    });

    it('so is it on a disabled or requested one; a waiting or revoked account may move', async () => {
      const disabled = await authorized();
      await t.engine.database.knex.transaction((trx) => applyEvent(trx, disabled, 'disable', { contactId: ALICE.contactId }));
      assert.equal((await run(`<UPDATE><WEBACCOUNT ID="${disabled}"><INFO><API>pixelfed</API></INFO></WEBACCOUNT></UPDATE>`)).attrs.errorCode, 'API_NOT_MOVABLE');
      const requested = await seedAccount(t.engine, ALICE, 'mastodon');
      await t.engine.database.knex.transaction((trx) => applyEvent(trx, requested, 'request', { contactId: ALICE.contactId }));
      assert.equal((await run(`<UPDATE><WEBACCOUNT ID="${requested}"><INFO><API>pixelfed</API></INFO></WEBACCOUNT></UPDATE>`)).attrs.errorCode, 'API_NOT_MOVABLE');
      const waiting = await seedAccount(t.engine, ALICE, 'mastodon');
      assert.equal((await run(`<UPDATE><WEBACCOUNT ID="${waiting}"><INFO><API>pixelfed</API></INFO></WEBACCOUNT></UPDATE>`)).attrs.msgType, '0');
      assert.equal((await stored(waiting))!.api, 'pixelfed');
    });
  });

  describe('a deleted account', () => {
    it('is neither CALLed nor AUTHORIZEd, by its owner or a PUBLIC=W stranger, until restored', async () => {
      const id = await authorized();
      assert.equal((await run(`<DELETE><WEBACCOUNT ID="${id}"/></DELETE>`)).attrs.msgType, '0');
      for (const who of [ALICE, CAROL]) {
        const call = await run(`<CALL><WEBACCOUNT ID="${id}"><ANYTHING/></WEBACCOUNT></CALL>`, who);
        assert.equal(call.attrs.errorCode, 'ACCOUNT_DELETED', call.text);
      }
      const auth = await run(`<AUTHORIZE><WEBACCOUNT ID="${id}"/></AUTHORIZE>`);
      assert.equal(auth.attrs.errorCode, 'ACCOUNT_DELETED', auth.text);
      assert.equal((await run(`<UPDATE><WEBACCOUNT ID="${id}"><INFO><ACTIVITY>1</ACTIVITY></INFO></WEBACCOUNT></UPDATE>`)).attrs.msgType, '0');
      assert.notEqual((await run(`<CALL><WEBACCOUNT ID="${id}"><ANYTHING/></WEBACCOUNT></CALL>`)).attrs.errorCode, 'ACCOUNT_DELETED');
    });

    it('deleted while its user was at the provider, gets no tokens from the callback', async () => {
      const id = await seedAccount(t.engine, ALICE, 'mastodon');
      await t.engine.database.knex.transaction((trx) => applyEvent(trx, id, 'request', { contactId: ALICE.contactId }));
      assert.equal((await run(`<DELETE><WEBACCOUNT ID="${id}"/></DELETE>`)).attrs.msgType, '0');
      const granted = await t.engine.database.knex.transaction((trx) => applyEvent(trx, id, 'grant', { contactId: null, columns: { token: t.engine.keyring.encrypt('late', 'webaccount.token') } }));
      assert.ok(!isTransition(granted) && granted.code === 'ACCOUNT_DELETED');
      assert.deepEqual([(await stored(id))!.authorization_state, (await stored(id))!.token], ['requested', null]);
    });
  });

  describe('optimistic locking', () => {
    it('a MODIFICATIONDATE without milliseconds never lets a later write in the same second be overwritten', async () => {
      const id = await seedAccount(t.engine, ALICE, 'mastodon');
      // Both writers read the row at 12:00:00.400 and kept Sushee's format; a first write lands at .700.
      await t.engine.database.knex('webaccount').update({ modificationdate: '2026-11-30 12:00:00.700+00' }).where('id', id);
      const stale = await run(`<UPDATE><WEBACCOUNT ID="${id}"><INFO><MODIFICATIONDATE>2026-11-30 12:00:00</MODIFICATIONDATE><DENOMINATION>second writer</DENOMINATION></INFO></WEBACCOUNT></UPDATE>`);
      assert.equal(stale.attrs.errorCode, 'MODIFIED_SINCE');
      assert.equal((await stored(id))!.denomination, null);
    });

    it('holds for an UPDATE of AUTHORIZATION_STATE too', async () => {
      const id = await authorized();
      await t.engine.database.knex('webaccount').update({ modificationdate: '2026-11-30 12:00:00.700+00' }).where('id', id);
      const stale = await run(`<UPDATE><WEBACCOUNT ID="${id}"><INFO><MODIFICATIONDATE>2026-11-30 12:00:00</MODIFICATIONDATE><AUTHORIZATION_STATE>disabled</AUTHORIZATION_STATE></INFO></WEBACCOUNT></UPDATE>`);
      assert.equal(stale.attrs.errorCode, 'MODIFIED_SINCE');
      assert.equal((await stored(id))!.authorization_state, 'authorized');
    });

    it('a date sent as nori wrote it passes, and so does a whole second that is exactly the stored date', async () => {
      const id = await seedAccount(t.engine, ALICE, 'mastodon');
      await t.engine.database.knex('webaccount').update({ modificationdate: '2026-11-30 12:00:00.700+00' }).where('id', id);
      const exact = await run(`<UPDATE><WEBACCOUNT ID="${id}"><INFO><MODIFICATIONDATE>2026-11-30 12:00:00.700</MODIFICATIONDATE><DENOMINATION>a</DENOMINATION></INFO></WEBACCOUNT></UPDATE>`);
      assert.equal(exact.attrs.msgType, '0', exact.text);
      await t.engine.database.knex('webaccount').update({ modificationdate: '2026-11-30 12:00:05.000+00' }).where('id', id);
      const whole = await run(`<UPDATE><WEBACCOUNT ID="${id}"><INFO><MODIFICATIONDATE>2026-11-30 12:00:05</MODIFICATIONDATE><DENOMINATION>b</DENOMINATION></INFO></WEBACCOUNT></UPDATE>`);
      assert.equal(whole.attrs.msgType, '0', whole.text);
      assert.equal((await stored(id))!.denomination, 'b');
    });
  });
});
