/**
 * @module store/secrets
 * Encryption at rest of secret fields: AES-256-GCM, a fresh 96-bit IV per value, the table and column as
 * additional data (so a ciphertext moved to another column does not decrypt), and the key's id in the
 * envelope so older keys stay readable while a new one is introduced.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { NoriError, failure } from '../errors.js';
import { isEncryptedContext } from './encrypted-columns.js';

const VERSION = 'v1';

/** How every stored ciphertext begins: the version and the key's id. */
export const ENVELOPE_PREFIX = /^v1\.[0-9a-f]{12}\./;

/** A context outside store/encrypted-columns.ts would be a column that rotation never reaches. */
function registered(context: string): string {
  if (!isEncryptedContext(context)) throw new Error(`${context} is not a registered encrypted column (store/encrypted-columns.ts)`);
  return context;
}

export interface Keyring {
  /** Id of the key new values are encrypted with. */
  readonly currentId: string;
  /** `context` is a registered column's `table.column` (store/encrypted-columns.ts); any other throws. */
  encrypt(plaintext: string, context: string): string;
  /** Throws NoriError SECRET_UNREADABLE when no configured key opens the value. */
  decrypt(envelope: string, context: string, owner: { element: string; id: number }): string;
  /** Whether a stored value was encrypted with an older key (a rotation candidate). */
  isStale(envelope: string): boolean;
  /** Encrypts new values with `key` from now on; every key known so far stays readable (a rotation's first step). */
  adopt(key: Buffer): void;
}

/** A key's public id: enough of its hash to tell keys apart, nothing that helps guess it. */
export function keyId(key: Buffer): string {
  return createHash('sha256').update('nori-key-id').update(key).digest('hex').slice(0, 12);
}

/** Reads a 256-bit key given as 64 hex characters or as base64 / base64url of 32 bytes. */
export function parseKey(text: string): Buffer {
  const t = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (key.length !== 32) throw new Error('a secret key must be 32 bytes, as 64 hex characters or base64');
  return key;
}

export function generateKey(): string {
  return randomBytes(32).toString('base64');
}

/**
 * @example
 * const ring = createKeyring([parseKey(process.env.NORI_SECRET_KEY!)]);
 * const stored = ring.encrypt('token', 'webaccount.token');
 */
export function createKeyring(keys: readonly Buffer[]): Keyring {
  const [first] = keys;
  if (!first) throw new Error('a keyring needs at least one key');
  const byId = new Map(keys.map((k) => [keyId(k), k] as const));
  let current = first;
  let currentId = keyId(current);

  return {
    get currentId() {
      return currentId;
    },
    adopt(key) {
      current = key;
      currentId = keyId(key);
      byId.set(currentId, key);
    },
    encrypt(plaintext, context) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', current, iv);
      cipher.setAAD(Buffer.from(registered(context)));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return [VERSION, currentId, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
    },
    decrypt(envelope, context, owner) {
      registered(context);
      const [version, id = '?', iv, tag, body] = envelope.split('.');
      const key = byId.get(id);
      const unreadable = (cause?: unknown) =>
        new NoriError(failure('SECRET_UNREADABLE', { element: owner.element, id: owner.id, keyId: id }), { cause });
      if (version !== VERSION || !key || iv === undefined || tag === undefined || body === undefined) throw unreadable();
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
        decipher.setAAD(Buffer.from(context));
        decipher.setAuthTag(Buffer.from(tag, 'base64url'));
        return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
      } catch (cause) {
        throw unreadable(cause);
      }
    },
    isStale(envelope) {
      return envelope.split('.', 2)[1] !== currentId;
    },
  };
}
