import assert from 'node:assert/strict';
import { ALICE, BOB, CAROL, useEngine } from '../helpers/engine.js';
import { authorizedAccount, call, ECHO_PLUGINS, PUBLIC_URL, seedEchoApi, startEcho, type Echo } from '../helpers/echo.js';
import { seedAccount, seedApi } from '../helpers/seed.js';
import { callReplies, callResult, childElements, expectError, expectOk, only, q, qa, replies, textAt } from '../helpers/xml.js';

describe('CALL', function () {
  this.timeout(30_000);
  const t = useEngine({ plugins: { builtins: false, ...ECHO_PLUGINS }, authorization: { publicUrl: PUBLIC_URL } });
  let echo: Echo;
  before(async () => {
    echo = await startEcho();
  });
  after(async () => echo.peer.close());
  beforeEach(async () => seedEchoApi(t.engine, echo));

  it('runs the method with the account\'s token and writes its result as XML by the documented rule', async () => {
    const id = await authorizedAccount(t.engine, ALICE);
    const before = echo.peer.count('/echo');
    const xml = await t.engine.execute(call(id, 'READ', '<ID>7</ID><TAGS>x, y</TAGS><FLAG>true</FLAG><KIND>b</KIND><FIELDS><NAME>Ann</NAME><CITY>Caen</CITY></FIELDS><DATA>AAEC/w==</DATA>'), ALICE);
    assert.equal(echo.peer.count('/echo'), before + 1);
    const [account] = callReplies(xml);
    assert.equal(account!.id, String(id));
    const r = account!.result!;
    assert.equal(r.tagName, 'READ');
    assert.equal(r.getAttribute('supportId'), 'S-1', 'a note of the plugin is an attribute of the result');
    assert.equal(textAt(r, 'method'), 'GET');
    assert.deepEqual([textAt(r, 'query/id'), textAt(r, 'query/tags'), textAt(r, 'query/flag'), textAt(r, 'query/kind')], ['7', 'x|y', 'true', 'b']);
    assert.deepEqual([textAt(r, 'fields/NAME'), textAt(r, 'fields/CITY')], ['Ann', 'Caen']);
    const data = childElements(r).find((e) => e.tagName === 'data')!;
    assert.deepEqual([data.getAttribute('encoding'), data.textContent], ['base64', 'AAEC/w==']);
    const entry = childElements(r).find((e) => e.tagName === 'ENTRY')!;
    assert.deepEqual([entry.getAttribute('key'), entry.textContent], ['not a name', 'kept']);
    assert.equal(childElements(r).find((e) => e.tagName === 'nothing')!.getAttribute('null'), 'true');
    assert.deepEqual(childElements(childElements(r).find((e) => e.tagName === 'list')!).map((e) => [e.tagName, e.textContent]), [['ITEM', '1'], ['ITEM', 'two'], ['ITEM', 'true']]);
    assert.ok(!xml.includes(echo.oauth.tokens.keys().next().value ?? '#'), 'no token in the response');
  });

  it('answers one result per account of an ID list, a failing account holding its own MESSAGE', async () => {
    const a = await authorizedAccount(t.engine, ALICE);
    const b = await seedAccount(t.engine, ALICE, 'echo');
    const all = callReplies(await t.engine.execute(call(`${a},${b}`, 'HELLO'), ALICE));
    assert.deepEqual(all.map((x) => x.id), [String(a), String(b)]);
    assert.equal(textAt(all[0]!.result!, 'greeting'), 'hello', 'the setting\'s default');
    assert.equal(all[1]!.message!.attrs.errorCode, 'NOT_AUTHORIZED');
    assert.match(all[1]!.message!.text, /AUTHORIZE it first/);
  });

  it('reads WEBAPI SETTINGS over the plugin\'s defaults, and returns them on GET', async () => {
    const id = await authorizedAccount(t.engine, ALICE);
    expectOk(only(await t.engine.execute(q('<UPDATE><WEBAPI ID="1"><INFO><SETTINGS><GREETING>bonjour</GREETING></SETTINGS></INFO></WEBAPI></UPDATE>'), { contactId: 1, groups: [], admin: true })));
    assert.equal(textAt(callResult(await t.engine.execute(call(id, 'HELLO'), ALICE)), 'greeting'), 'bonjour');
    const xml = await t.engine.execute(q('<GET><WEBAPI ID="1"><RETURN><INFO><SETTINGS/></INFO></RETURN></WEBAPI></GET>'), ALICE);
    assert.match(xml, /<SETTINGS><GREETING>bonjour<\/GREETING><\/SETTINGS>/);
  });

  it('refuses a PLUGIN that is not loaded and SETTINGS its plugin does not declare', async () => {
    const admin = { contactId: 1, groups: [], admin: true };
    const update = (info: string) => t.engine.execute(q(`<UPDATE><WEBAPI ID="1"><INFO>${info}</INFO></WEBAPI></UPDATE>`), admin);
    assert.match(expectError(only(await update('<SETTINGS><GREETNG>hi</GREETNG></SETTINGS>')), 'SETTING_UNKNOWN').text, /GREETNG, which the plugin "echo" does not declare; it declares GREETING/);
    assert.match(expectError(only(await update('<PLUGIN>nope</PLUGIN>')), 'PLUGIN_UNKNOWN').text, /PLUGIN "nope" is not a loaded plugin; loaded: echo, keyed/);
    expectOk(only(await update('<SETTINGS><GREETING>hi</GREETING></SETTINGS>')));
    expectError(only(await t.engine.execute(q('<CREATE><WEBAPI><INFO><DENOMINATION>plain</DENOMINATION><AUTH_TYPE>oauth2</AUTH_TYPE><SETTINGS><X>1</X></SETTINGS></INFO></WEBAPI></CREATE>'), admin)), 'SETTING_UNKNOWN');
  });

  it('checks parameters against the definition before anything leaves nori', async () => {
    const id = await authorizedAccount(t.engine, ALICE);
    const sent = echo.peer.count();
    const cases: [string, string, string, RegExp][] = [
      ['READ', '<ID>7</ID><COLOR>red</COLOR>', 'PARAM_UNKNOWN', /<READ> has no parameter <COLOR>; it takes ID, TAGS/],
      ['READ', '<TAGS>a</TAGS>', 'PARAM_MISSING', /<READ> needs <ID>/],
      ['READ', '<ID>0</ID>', 'PARAM_INVALID', /<READ> <ID> must be a whole number from 1 to 1000, not "0"/],
      ['READ', '<ID>1</ID><KIND>c</KIND>', 'PARAM_INVALID', /one of a, b/],
      ['READ', '<ID>1</ID><DATA>not base64!</DATA>', 'PARAM_INVALID', /must be base64 \(line/],
      ['READ', '<ID>1</ID><DATA>AAAAAAAAAAAAAAAAAAAAAAAAAA==</DATA>', 'PARAM_INVALID', /at most 16 bytes/],
      ['READ', '<ID>1</ID><SITE>ftp://x</SITE>', 'PARAM_INVALID', /http or https URL/],
      ['READ', '<ID>1</ID><MAIL>nobody</MAIL>', 'PARAM_INVALID', /an e-mail address/],
      ['READ', '<ID>1</ID><ID>2</ID>', 'PARAM_INVALID', /given once/],
      ['READ', '<ID>1</ID><FIELDS><A><B/></A></FIELDS>', 'PARAM_INVALID', /one element per entry/],
      ['WRITE', '<TEXT>more than ten characters</TEXT>', 'PARAM_INVALID', /at most 10 characters/],
      ['WRITE', '<TEXT>ok</TEXT><PASSWORD>hunter2hunter2</PASSWORD>', 'PARAM_INVALID', /<PASSWORD> must be at most 8 characters \(line/],
      ['DANCE', '', 'METHOD_UNKNOWN', /"echo" has no method <DANCE>; its methods are READ, WRITE, HELLO, REFUSE, ODD/],
    ];
    for (const [method, params, code, text] of cases) {
      const r = expectError(only(await t.engine.execute(call(id, method, params), ALICE)), code);
      assert.match(r.text, text, `${method} ${params}`);
      assert.ok(!r.text.includes('hunter2'), 'a secret parameter is never echoed');
    }
    assert.equal(echo.peer.count(), sent, 'nothing reached the service');
  });

  it('refuses accounts that are not authorized, each with its own code, without reaching the service', async () => {
    const waiting = await seedAccount(t.engine, ALICE, 'echo');
    const disabled = await authorizedAccount(t.engine, ALICE);
    const revoked = await authorizedAccount(t.engine, ALICE);
    const set = (id: number, state: string) => t.engine.execute(q(`<UPDATE><WEBACCOUNT ID="${id}"><INFO><AUTHORIZATION_STATE>${state}</AUTHORIZATION_STATE></INFO></WEBACCOUNT></UPDATE>`), ALICE);
    await set(disabled, 'disabled');
    await set(revoked, 'revoked');
    const sent = echo.peer.count();
    assert.match(expectError(only(await t.engine.execute(call(waiting, 'READ', '<ID>1</ID>'), ALICE)), 'NOT_AUTHORIZED').text, /is waiting, not authorized; AUTHORIZE it first/);
    assert.match(expectError(only(await t.engine.execute(call(disabled, 'READ', '<ID>1</ID>'), ALICE)), 'ACCOUNT_DISABLED').text, /disabled/);
    assert.match(expectError(only(await t.engine.execute(call(revoked, 'READ', '<ID>1</ID>'), ALICE)), 'ACCOUNT_REVOKED').text, /revoked/);
    assert.equal(echo.peer.count(), sent);
  });

  it('lets owners, admins and PUBLIC=W accounts be called; group members only read; strangers see nothing', async () => {
    const mine = await authorizedAccount(t.engine, ALICE, 'echo', '<GROUPID>10</GROUPID>');
    const shared = await authorizedAccount(t.engine, ALICE, 'echo', '<PUBLIC>W</PUBLIC>');
    expectError(only(await t.engine.execute(call(mine, 'HELLO'), BOB)), 'FORBIDDEN', '3');
    expectError(only(await t.engine.execute(call(mine, 'HELLO'), CAROL)), 'NOT_VISIBLE', '3');
    expectError(only(await t.engine.execute(call(`${shared},${mine}`, 'HELLO'), CAROL)), 'NOT_VISIBLE', '3');
    assert.equal(textAt(callResult(await t.engine.execute(call(shared, 'HELLO'), CAROL)), 'greeting'), 'hello');
  });

  it('passes the service\'s refusal on as SERVICE_ERROR, its code and details as attributes', async () => {
    const id = await authorizedAccount(t.engine, ALICE);
    const r = expectError(only(await t.engine.execute(call(id, 'REFUSE'), ALICE)), 'SERVICE_ERROR');
    assert.match(r.text, /refused REFUSE .*E42 \(refused by design\)/);
    assert.deepEqual([r.attrs.serviceError, r.attrs.serviceMessage, r.attrs.serviceData, r.attrs.supportId], ['E42', 'refused by design', 'more', 'S-1']);
    assert.match(expectError(only(await t.engine.execute(call(id, 'ODD'), ALICE)), 'SERVICE_BAD_RESPONSE').text, /cannot read \(the echo has no shape\)/);
  });

  it('refuses CALL in an atomic batch, and a WEBAPI without a plugin', async () => {
    const id = await authorizedAccount(t.engine, ALICE);
    const [first, second] = replies(await t.engine.execute(qa(call(id, 'HELLO').slice(7, -8), '<COUNT><WEBAPI/></COUNT>'), ALICE));
    expectError(first!, 'CALL_NOT_ATOMIC');
    expectError(second!, 'NOT_RUN');
    await seedApi(t.engine, 'bare');
    const bare = await seedAccount(t.engine, ALICE, 'bare');
    expectError(only(await t.engine.execute(call(bare, 'HELLO'), ALICE)), 'PLUGIN_MISSING');
    expectError(only(await t.engine.execute(q(`<CALL><WEBACCOUNT ID="${id}"/></CALL>`), ALICE)), 'MISSING_ELEMENT');
    expectError(only(await t.engine.execute(q(`<CALL><WEBACCOUNT ID="${id}"><HELLO/><HELLO/></WEBACCOUNT></CALL>`), ALICE)), 'UNEXPECTED_ELEMENT');
  });

  it('refuses to search or sort on SETTINGS', async () => {
    expectError(only(await t.engine.execute(q('<SEARCH><WEBAPI><INFO><SETTINGS>x</SETTINGS></INFO></WEBAPI></SEARCH>'), ALICE)), 'NOT_SEARCHABLE');
  });
});
