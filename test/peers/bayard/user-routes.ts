/**
 * @module test/peers/bayard/user-routes
 * The /api/user methods of the Bayard peer (spec § "Compte client" and the child accounts). Every answer is a
 * Zend struct: `response` (RESPONSE_SUCCESS, RESPONSE_FAILURE or RESPONSE_WARNING), then what the spec shows.
 * An identifier is an e-mail or, when all digits, an SSO id (the spec says so for lookup; the peer accepts it
 * everywhere an account is named, since the service resolves accounts one way).
 */
import type { Call, MethodDef } from './state.js';
import { zendAnswer, type Struct } from './zend-xml.js';

const SUCCESS = 'RESPONSE_SUCCESS';
const FAILURE = 'RESPONSE_FAILURE';
const WARNING = 'RESPONSE_WARNING';

const answer = (method: string, struct: Struct) => zendAnswer('ApiUser', method, struct);
const method = (args: readonly string[], handle: (call: Call) => ReturnType<MethodDef['handle']>): MethodDef => ({ api: 'ApiUser', args, handle });

/** `a,,b, c` → [a, b, c]: empty items dropped, items trimmed, each name once (a PHP array keyed by name). */
const fieldList = (list: string) => [...new Set(list.split(',').map((f) => f.trim()).filter(Boolean))];

export const USER_METHODS = new Map<string, MethodDef>([
  ['lookup', method(['identifier'], ({ state, args: [id] }) => {
    const user = state.findUser(id!);
    if (!user) return answer('lookup', { response: FAILURE });
    return answer('lookup', { response: SUCCESS, user: { email: user.email, id: user.id, registered: user.passwords.size > 0 ? 'FULL' : 'NO_PASSWORD' } });
  })],

  // No distinction between an unknown account, a prospect and a wrong password (spec: "pas de distinction").
  // The hash is compared as PHP's == compares two strings: exactly (md5() writes lowercase hex).
  ['login', method(['email', 'md5PasswordSalted'], ({ state, partner, args: [email, hash] }) => {
    const user = state.findUser(email!);
    return answer('login', { response: user?.passwords.get(partner.urlKey) === hash ? SUCCESS : FAILURE });
  })],

  ['forgot_password', method(['email'], ({ state, partner, args: [email] }) => {
    const user = state.findUser(email!);
    if (user) state.recordEmail(user, partner);
    return answer('forgot_password', { response: user ? SUCCESS : FAILURE });
  })],

  // A new account is a prospect (NO_PASSWORD) until set_password. POSTed fields are written at once, as `set`
  // would; their errors (not documented for create) come back as `set` reports them, with RESPONSE_WARNING.
  ['create', method(['email'], ({ state, partner, form, args: [email] }) => {
    if (state.findUser(email!)) return answer('create', { response: FAILURE, user: 'ERROR_USER_EXISTS' });
    // Not documented: an identifier that is no e-mail (it would read as an id, or be unreachable) is refused.
    if (!/^[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+$/.test(email!)) return answer('create', { response: FAILURE, user: 'ERROR_EMAIL_INVALID' });
    const user = state.addUser({ id: state.nextUserId(), email: email! });
    const errors = state.writeFields(partner, user.fields, form);
    const created = { email: user.email, id: user.id };
    if (Object.keys(errors).length > 0) return answer('create', { response: WARNING, user: created, fields: errors });
    return answer('create', { response: SUCCESS, user: created });
  })],

  // The password arrives in clear in POST "password" ("en clair pour le moment"). The spec's "erreur commune"
  // is taken to be a missing or empty password.
  ['set_password', method(['email'], ({ state, form, args: [email] }) => {
    const user = state.findUser(email!);
    if (!user) return answer('set_password', { response: FAILURE, user: 'ERROR_USER_NOT_EXIST' });
    const password = form.find(([k]) => k === 'password')?.[1];
    if (!password) return answer('set_password', { response: FAILURE });
    state.setPassword(user, password);
    return answer('set_password', { response: SUCCESS });
  })],

  ['get', method(['email', 'fields'], ({ state, partner, args: [email, list] }) => {
    const user = state.findUser(email!);
    if (!user) return answer('get', { response: FAILURE });
    const { fields, ok } = state.readFields(partner, user.fields, fieldList(list!));
    return answer('get', { response: ok ? SUCCESS : WARNING, user: { email: user.email, id: user.id }, fields });
  })],

  // Valid fields are written even when others fail: the warning lists only the failures, so the others took.
  ['set', method(['email'], ({ state, partner, form, args: [email] }) => {
    const user = state.findUser(email!);
    if (!user) return answer('set', { response: FAILURE, user: 'ERROR_USER_NOT_EXIST' });
    const errors = state.writeFields(partner, user.fields, form);
    if (Object.keys(errors).length > 0) return answer('set', { response: WARNING, fields: errors });
    return answer('set', { response: SUCCESS });
  })],

  // Fails when the parent is unknown or the pseudo is taken. The secret code is kept as sent (child_login
  // sends it in clear).
  ['create_child', method(['pseudo', 'code_secret', 'identifier'], ({ state, args: [pseudo, code, parentId] }) => {
    const parent = state.findUser(parentId!);
    if (!parent || state.childByPseudo(pseudo!)) return answer('create_child', { response: FAILURE });
    state.addChild({ id: state.nextChildId(), pseudo: pseudo!, secretCode: code!, parents: [parent.email] });
    return answer('create_child', { response: SUCCESS });
  })],

  // RESPONSE_SUCCESS means the pseudo exists (taken), RESPONSE_FAILURE that it is free.
  ['child_pseudo_exist', method(['pseudo'], ({ state, args: [pseudo] }) =>
    answer('child_pseudo_exist', { response: state.childByPseudo(pseudo!) ? SUCCESS : FAILURE }))],

  // key_N per child, in id order; secretcode is always empty (the example shows it so: the code is not disclosed).
  ['child_accounts', method(['identifier', 'fields'], ({ state, partner, args: [parentId, list] }) => {
    const parent = state.findUser(parentId!);
    if (!parent) return answer('child_accounts', { response: FAILURE });
    const names = fieldList(list!);
    let ok = true;
    const kids = [...state.children.values()].filter((c) => c.parentIds.includes(parent.id)).sort((a, b) => a.id - b.id).map((c) => {
      const read = state.readFields(partner, c.fields, names);
      ok &&= read.ok;
      return { id: c.id, pseudo: c.pseudo, secretcode: '', fields: read.fields };
    });
    return answer('child_accounts', { ...Object.fromEntries(kids.map((k, i) => [`key_${i}`, k])), response: ok ? SUCCESS : WARNING });
  })],

  ['parent_accounts', method(['identifier'], ({ state, args: [childId] }) => {
    const child = state.findChild(childId!);
    if (!child) return answer('parent_accounts', { response: FAILURE });
    const parents = child.parentIds.map((id) => state.users.get(id)).filter((u) => u !== undefined);
    return answer('parent_accounts', { ...Object.fromEntries(parents.map((u, i) => [`key_${i}`, { id: u.id, email: u.email }])), response: SUCCESS });
  })],

  ['child_login', method(['pseudo', 'code_secret'], ({ state, args: [pseudo, code] }) =>
    answer('child_login', { response: state.childByPseudo(pseudo!)?.secretCode === code ? SUCCESS : FAILURE }))],
]);
