/**
 * @module test/peers/bayard/state
 * The live user base of the Bayard peer: users, children, partners, Advantage customers and the e-mails it
 * "sent". Passwords are kept only as md5(salt . password), one hash per partner, since each partner logs in
 * with its own salt.
 */
import { createHash, randomBytes } from 'node:crypto';
import { allowed, type AdvantageCustomer, type BayardPartner, type BayardSeed, type FieldDef, type SeedChild, type SeedUser } from './data.js';
import type { PeerResponse } from '../http-peer.js';
import type { ApiClass, Struct, Value } from './zend-xml.js';

export interface BayardUser {
  readonly id: number;
  readonly email: string;
  /** url_key → md5(salt . password). Empty: a prospect (NO_PASSWORD). */
  readonly passwords: Map<string, string>;
  readonly fields: Map<string, string>;
}
export interface BayardChild {
  readonly id: number;
  readonly pseudo: string;
  readonly secretCode: string;
  readonly parentIds: number[];
  readonly fields: Map<string, string>;
}
/** A password e-mail the service would have sent (forgot_password). */
export interface SentEmail { readonly to: string; readonly userId: number; readonly partner: string; readonly link: string; readonly at: Date }

const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');
const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

export type BayardState = ReturnType<typeof createBayardState>;

export function createBayardState(seed: BayardSeed, now: () => Date) {
  const partners = new Map<string, BayardPartner>();
  for (const p of seed.partners) {
    // Checked once at start: a bad seed is a programmer error.
    if (!/^[0-9a-f]{32}$/.test(p.urlKey) || p.salt.length !== 32) throw new Error(`Bayard partner ${p.name}: url_key must be 32 hex characters and salt 32 characters`);
    partners.set(p.urlKey, p);
  }
  const fields = new Map<string, FieldDef>(seed.fields.map((f) => [f.name, f]));
  const users = new Map<number, BayardUser>();
  const children = new Map<number, BayardChild>();
  const customers = new Map<string, AdvantageCustomer>(seed.customers.map((c) => [c.number, c]));
  const sentEmails: SentEmail[] = [];

  const findUser = (identifier: string): BayardUser | undefined =>
    /^\d+$/.test(identifier) ? users.get(Number(identifier)) : [...users.values()].find((u) => same(u.email, identifier));
  const childByPseudo = (pseudo: string) => [...children.values()].find((c) => same(c.pseudo, pseudo));
  /** A child by pseudo, or by id when no pseudo matches and the identifier is digits. */
  const findChild = (identifier: string): BayardChild | undefined =>
    childByPseudo(identifier) ?? (/^\d+$/.test(identifier) ? children.get(Number(identifier)) : undefined);

  function setPassword(user: BayardUser, password: string): void {
    for (const p of partners.values()) user.passwords.set(p.urlKey, md5(p.salt + password));
  }
  function addUser(u: SeedUser): BayardUser {
    if (users.has(u.id) || findUser(u.email)) throw new Error(`Bayard user ${u.id} ${u.email} already exists`);
    const user: BayardUser = { id: u.id, email: u.email, passwords: new Map(), fields: new Map(Object.entries(u.fields ?? {})) };
    if (u.password !== undefined) setPassword(user, u.password);
    users.set(user.id, user);
    return user;
  }
  function addChild(c: SeedChild): BayardChild {
    const parentIds = c.parents.map((e) => findUser(e)?.id ?? NaN);
    if (parentIds.some(Number.isNaN) || childByPseudo(c.pseudo) || children.has(c.id)) throw new Error(`Bayard child ${c.pseudo}: unknown parent or pseudo taken`);
    const child: BayardChild = { id: c.id, pseudo: c.pseudo, secretCode: c.secretCode, parentIds, fields: new Map(Object.entries(c.fields ?? {})) };
    children.set(child.id, child);
    return child;
  }
  for (const u of seed.users) addUser(u);
  for (const c of seed.children) addChild(c);

  /** Reads fields for a partner: the value, or the error code in its place. `ok` is false when one failed. */
  function readFields(partner: BayardPartner, values: Map<string, string>, names: readonly string[]): { fields: Struct; ok: boolean } {
    const out: Record<string, Value> = {};
    let ok = true;
    for (const name of names) {
      const error = !fields.has(name) ? 'ERROR_EAV_FIELD_NONEXISTENT' : !allowed(partner.read, name) ? 'ERROR_EAV_FIELD_PERMISSION' : undefined;
      if (error) ok = false;
      out[name] = error ?? values.get(name) ?? '';
    }
    return { fields: out, ok };
  }

  /** Writes what it may and returns the errors of the rest, in the order posted. An empty value clears a field. */
  function writeFields(partner: BayardPartner, values: Map<string, string>, posted: readonly [string, string][]): Struct {
    const errors: Record<string, Value> = {};
    for (const [name, value] of posted) {
      const def = fields.get(name);
      if (!def) errors[name] = 'ERROR_EAV_FIELD_NONEXISTENT';
      else if (!allowed(partner.write, name)) errors[name] = 'ERROR_EAV_FIELD_PERMISSION';
      else {
        const failed = value === '' ? [] : (def.rules ?? []).filter((r) => !r.test(value));
        if (failed.length > 0) errors[name] = { validation_error: { value, description: failed.map((r) => r.message).join('; ') } };
        else if (value === '') values.delete(name);
        else values.set(name, value);
      }
    }
    return errors;
  }

  function recordEmail(user: BayardUser, partner: BayardPartner): void {
    sentEmails.push({ to: user.email, userId: user.id, partner: partner.name, link: `https://bayardsso.fr/password/reset/${randomBytes(16).toString('hex')}`, at: now() });
  }

  const nextId = (ids: Iterable<number>, step: number) => Math.max(0, ...ids) + step;

  return {
    partners, fields, users, children, customers, sentEmails, now,
    findUser, findChild, childByPseudo, addUser, addChild, setPassword, readFields, writeFields, recordEmail,
    nextUserId: () => nextId(users.keys(), 1),
    // The spec's child ids (1621600, 1621610) step by 10, as MySQL's auto_increment_increment does.
    nextChildId: () => nextId(children.keys(), 10),
  };
}

/** What a method receives: its partner (url_key checked), its decoded path arguments and PHP's $_POST. */
export interface Call {
  readonly state: BayardState;
  readonly partner: BayardPartner;
  readonly args: readonly string[];
  readonly form: readonly [string, string][];
}
/** One method of the service: its class (XML root), its path arguments after the url_key, its behaviour. */
export interface MethodDef {
  readonly api: ApiClass;
  readonly args: readonly string[];
  readonly handle: (call: Call) => PeerResponse;
}
