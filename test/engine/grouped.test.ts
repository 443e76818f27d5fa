import assert from 'node:assert/strict';
import { ADMIN, ALICE, useEngine } from '../helpers/engine.js';
import { accountXml, seedApi, webapiXml } from '../helpers/seed.js';
import { expectError, expectOk, q, replies } from '../helpers/xml.js';

describe('consecutive CREATEs run as a group, each still answered on its own', () => {
  const t = useEngine();

  it('writes a run of accounts in order, and a failing command of the run writes nothing while the others do', async () => {
    await seedApi(t.engine, 'mastodon');
    const all = replies(await t.engine.execute(q(accountXml('mastodon', '<DENOMINATION>a</DENOMINATION>'), accountXml('nowhere'), accountXml('mastodon', '<DENOMINATION>b</DENOMINATION>'), '<COUNT><WEBACCOUNT/></COUNT>', accountXml('mastodon', '<DENOMINATION>c</DENOMINATION>')), ALICE));
    assert.deepEqual(all.map((r) => r.attrs.errorCode ?? r.attrs.elementID ?? r.attrs.hits), ['1', 'REFERENCE_NOT_FOUND', '2', '2', '3']);
    expectError(all[1]!, 'REFERENCE_NOT_FOUND');
    const rows = await t.engine.database.knex('webaccount').select('id', 'denomination', 'ownerid').orderBy('id');
    assert.deepEqual(rows, [{ id: 1, denomination: 'a', ownerid: 2 }, { id: 2, denomination: 'b', ownerid: 2 }, { id: 3, denomination: 'c', ownerid: 2 }]);
  });

  it('two commands of a run taking one unique value: the first wins, the second answers DUPLICATE_VALUE', async () => {
    const all = replies(await t.engine.execute(q(webapiXml('one'), webapiXml('two'), webapiXml('one'), webapiXml('three')), ADMIN));
    expectOk(all[0]!);
    expectOk(all[1]!);
    expectError(all[2]!, 'DUPLICATE_VALUE');
    expectOk(all[3]!);
    const names = (await t.engine.database.knex('webapi').select('denomination').orderBy('id')).map((r) => r.denomination);
    assert.deepEqual(names, ['one', 'two', 'three']);
  });

  it('a thousand CREATEs in one batch: a thousand CREATED, ids in command order', async () => {
    await seedApi(t.engine, 'mastodon');
    const commands = Array.from({ length: 1000 }, (_, i) => accountXml('mastodon', `<DENOMINATION>n${i}</DENOMINATION>`));
    const all = replies(await t.engine.execute(q(...commands), ALICE));
    assert.deepEqual(all.map((r) => r.attrs.elementID), Array.from({ length: 1000 }, (_, i) => String(i + 1)));
    const last = await t.engine.database.knex('webaccount').first('denomination').where('id', 1000);
    assert.equal(last.denomination, 'n999');
  });
});
