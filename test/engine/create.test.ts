import assert from 'node:assert/strict';
import { ADMIN, ALICE, useEngine } from '../helpers/engine.js';
import { accountXml, seedApi, webapiXml } from '../helpers/seed.js';
import { expectError, expectOk, only, q, replies } from '../helpers/xml.js';

describe('CREATE', () => {
  const t = useEngine();

  it('creates a WEBACCOUNT owned by the caller, in state waiting, and echoes the command name', async () => {
    await seedApi(t.engine);
    const r = expectOk(only(await t.engine.execute(`<QUERY><CREATE name="mine"><WEBACCOUNT><INFO><DENOMINATION>My twitter account</DENOMINATION><API>twitter</API></INFO></WEBACCOUNT></CREATE></QUERY>`, ALICE)));
    assert.equal(r.attrs.name, 'mine');
    assert.equal(r.attrs.command, 'CREATE');
    assert.match(r.text, /WEBACCOUNT \d+ was created/);
    const got = only(await t.engine.execute(q(`<GET><WEBACCOUNT ID="${r.attrs.elementID}"/></GET>`), ALICE));
    const f = got.elements[0]!.fields;
    assert.equal(f.DENOMINATION, 'My twitter account');
    assert.equal(f.AUTHORIZATION_STATE, 'waiting');
    assert.equal(f.OWNERID, '2');
    assert.equal(f.CREATORID, '2');
    assert.equal(f.MODIFIERID, '2');
    assert.equal(f.ACTIVITY, '1');
    assert.equal(f.ISLOCKED, '0');
    assert.equal(f.PUBLIC, '0');
    assert.match(f.CREATIONDATE!, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$/);
    assert.equal(f.CREATIONDATE, f.MODIFICATIONDATE);
  });

  it('refuses an account on an unknown or deleted WEBAPI', async () => {
    expectError(only(await t.engine.execute(q(accountXml('nowhere')), ALICE)), 'REFERENCE_NOT_FOUND');
    const id = await seedApi(t.engine, 'gone');
    expectOk(only(await t.engine.execute(q(`<DELETE><WEBAPI ID="${id}"/></DELETE>`), ADMIN)));
    const r = expectError(only(await t.engine.execute(q(accountXml('gone')), ALICE)), 'REFERENCE_NOT_FOUND');
    assert.match(r.text, /API names no active WEBAPI "gone"/);
  });

  it('needs the required fields', async () => {
    const r = expectError(only(await t.engine.execute(q('<CREATE><WEBACCOUNT><INFO><DENOMINATION>x</DENOMINATION></INFO></WEBACCOUNT></CREATE>'), ALICE)), 'MISSING_FIELD');
    assert.match(r.text, /WEBACCOUNT needs API/);
    expectError(only(await t.engine.execute(q('<CREATE><WEBACCOUNT/></CREATE>'), ALICE)), 'MISSING_ELEMENT');
  });

  it('names an unknown field with its line and column', async () => {
    const xml = '<QUERY>\n<CREATE>\n  <WEBACCOUNT><INFO><API>twitter</API>\n    <COLOUR>red</COLOUR></INFO></WEBACCOUNT></CREATE></QUERY>';
    const r = expectError(only(await t.engine.execute(xml, ALICE)), 'UNKNOWN_FIELD');
    assert.equal(r.attrs.line, '4');
    assert.equal(r.attrs.column, '5');
    assert.match(r.text, /WEBACCOUNT has no field COLOUR \(line 4, column 5\)/);
  });

  it('refuses fields nori sets, and AUTHORIZATION_STATE with its own code', async () => {
    await seedApi(t.engine);
    expectError(only(await t.engine.execute(q(accountXml('twitter', '<CREATIONDATE>2020-01-01 00:00:00</CREATIONDATE>')), ALICE)), 'READONLY_FIELD');
    expectError(only(await t.engine.execute(q(accountXml('twitter', '<ID>5</ID>')), ALICE)), 'READONLY_FIELD');
    expectError(only(await t.engine.execute(q(accountXml('twitter', '<AUTHORIZATION_STATE>authorized</AUTHORIZATION_STATE>')), ALICE)), 'STATE_READONLY');
  });

  it('checks types, enums and lengths, naming the field', async () => {
    await seedApi(t.engine);
    const bad = [
      ['<PUBLIC>X</PUBLIC>', 'INVALID_VALUE', /PUBLIC must be one of W, R, 0, not "X"/],
      ['<OWNERID>abc</OWNERID>', 'INVALID_VALUE', /OWNERID must be a whole number/],
      ['<ISLOCKED>2</ISLOCKED>', 'INVALID_VALUE', /ISLOCKED must be 0 or 1/],
      [`<DENOMINATION>${'x'.repeat(256)}</DENOMINATION>`, 'VALUE_TOO_LONG', /DENOMINATION is longer than 255 characters/],
      ['<DENOMINATION>a</DENOMINATION><DENOMINATION>b</DENOMINATION>', 'DUPLICATE_FIELD', /DENOMINATION is given twice/],
      ['<LOGIN><B>x</B></LOGIN>', 'UNEXPECTED_ELEMENT', /<B> is not allowed inside <LOGIN>/],
      ['<LOGIN a="1">x</LOGIN>', 'UNKNOWN_ATTRIBUTE', /<LOGIN> has no attribute a/],
    ] as const;
    for (const [extra, code, text] of bad) {
      const r = expectError(only(await t.engine.execute(q(accountXml('twitter', extra)), ALICE)), code);
      assert.match(r.text, text);
    }
  });

  it('never echoes a secret value, even a wrong one', async () => {
    await seedApi(t.engine);
    const secret = 'S3cr3t-' + 'z'.repeat(5000);
    const xml = await t.engine.execute(q(accountXml('twitter', `<TOKEN>${secret}</TOKEN>`)), ALICE);
    expectError(only(xml), 'VALUE_TOO_LONG');
    assert.ok(!xml.includes('S3cr3t'));
  });

  it('lets only admins create a WEBAPI, and keeps DENOMINATION unique among active ones', async () => {
    expectError(only(await t.engine.execute(q(webapiXml('mine')), ALICE)), 'ADMIN_ONLY', '3');
    await seedApi(t.engine, 'dup');
    expectError(only(await t.engine.execute(q(webapiXml('dup')), ADMIN)), 'DUPLICATE_VALUE');
    expectError(only(await t.engine.execute(q(webapiXml('bad', '<BASE_URL>javascript:alert(1)</BASE_URL>')), ADMIN)), 'INVALID_VALUE');
  });

  it('answers unknown verbs and elements, and a CALL on a missing account, while the batch goes on', async () => {
    await seedApi(t.engine);
    const all = replies(await t.engine.execute(q(
      '<FROB><WEBACCOUNT/></FROB>',
      '<CREATE><WEBUSER><INFO/></WEBUSER></CREATE>',
      '<AUTHORIZE><WEBACCOUNT ID="1,2"/></AUTHORIZE>',
      '<CALL><WEBACCOUNT ID="1"><POSTMESSAGE><TEXT>hi</TEXT></POSTMESSAGE></WEBACCOUNT></CALL>',
      accountXml('twitter'),
    ), ALICE));
    expectError(all[0]!, 'UNKNOWN_VERB');
    expectError(all[1]!, 'UNKNOWN_ELEMENT');
    expectError(all[2]!, 'INVALID_ID');
    expectError(all[3]!, 'NOT_VISIBLE', '3');
    expectOk(all[4]!);
  });
});
