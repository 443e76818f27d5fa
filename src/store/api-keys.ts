/**
 * @module store/api-keys
 * The keys callers present as `Authorization: Bearer <key>`. A key is `nori_<id>_<secret>`: the id finds
 * the row, the secret is stored only as its SHA-256 (keys are 256 random bits, so a slow hash adds nothing)
 * and compared in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Knex } from 'knex';
import { checkPrincipal, type Principal } from '../principal.js';
import type { Cache } from './changes.js';

export interface ApiKeyInfo {
  readonly id: number;
  readonly keyId: string;
  readonly label: string;
  readonly principal: Principal;
  readonly createdAt: Date;
  readonly revokedAt: Date | null;
}

export interface NewApiKey {
  readonly contactId: number;
  readonly groups?: readonly number[];
  readonly admin?: boolean;
  readonly label?: string;
}

const KEY = /^nori_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const hash = (secret: string) => createHash('sha256').update(secret).digest('hex');

interface KeyRecord {
  id: number;
  key_id: string;
  secret_hash: string;
  contact_id: number;
  groups: number[];
  admin: boolean;
  label: string;
  created_at: Date;
  revoked_at: Date | null;
}

const toInfo = (r: KeyRecord): ApiKeyInfo => ({
  id: r.id,
  keyId: r.key_id,
  label: r.label,
  principal: Object.freeze({ contactId: r.contact_id, groups: Object.freeze([...r.groups]), admin: r.admin }),
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
});

/** Creates a key; the returned `key` is shown once and never stored. */
export async function createApiKey(knex: Knex, spec: NewApiKey): Promise<{ key: string; info: ApiKeyInfo }> {
  // The key's principal is checked as a batch's is: `admin: 'yes'` would be stored as true by PostgreSQL.
  const principal = checkPrincipal({ contactId: spec.contactId, groups: spec.groups ?? [], admin: spec.admin ?? false });
  const keyId = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const [record] = await knex('nori_api_keys')
    .insert({ key_id: keyId, secret_hash: hash(secret), contact_id: principal.contactId, groups: [...principal.groups], admin: principal.admin, label: spec.label ?? '' })
    .returning('*');
  return { key: `nori_${keyId}_${secret}`, info: toInfo(record as KeyRecord) };
}

export async function listApiKeys(knex: Knex): Promise<ApiKeyInfo[]> {
  return ((await knex('nori_api_keys').select('*').orderBy('id')) as KeyRecord[]).map(toInfo);
}

/** Revokes by numeric id or key id; returns whether a live key was revoked. */
export async function revokeApiKey(knex: Knex, idOrKeyId: string | number): Promise<boolean> {
  const q = knex('nori_api_keys').update({ revoked_at: knex.fn.now() }).whereNull('revoked_at');
  if (typeof idOrKeyId === 'number' || /^[0-9]+$/.test(idOrKeyId)) q.where('id', Number(idOrKeyId));
  else q.where('key_id', idOrKeyId);
  return (await q) > 0;
}

/** A live key's row, as the cache keeps it: the secret's hash and the principal, built once. */
export interface LiveKey {
  readonly secretHash: Buffer;
  readonly principal: Principal;
}

/**
 * The principal behind a presented key, or undefined for a malformed, unknown or revoked one. With a cache
 * (invalidated by every change to the keys, store/changes.ts), a known key costs no query; the secret is
 * checked on every call, and an unknown key id is never cached (it would let anyone fill the cache).
 */
export async function authenticate(knex: Knex, presented: string, cache?: Cache<LiveKey>): Promise<Principal | undefined> {
  const m = KEY.exec(presented);
  if (!m) return undefined;
  const keyId = m[1]!;
  const load = async (): Promise<LiveKey | undefined> => {
    const record = (await knex('nori_api_keys').first('*').where('key_id', keyId).whereNull('revoked_at')) as KeyRecord | undefined;
    return record && { secretHash: Buffer.from(record.secret_hash, 'hex'), principal: toInfo(record).principal };
  };
  const key = cache ? await cache.get(keyId, load) : await load();
  if (!key) return undefined;
  const presentedHash = createHash('sha256').update(m[2]!).digest();
  return key.secretHash.length === presentedHash.length && timingSafeEqual(key.secretHash, presentedHash) ? key.principal : undefined;
}
