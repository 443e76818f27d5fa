/**
 * @module store/key-file
 * The embedded default's own key, in `<dataDir>/secret.key`, and its rotation. A rotation is staged in
 * `secret.key.next` before any value is encrypted with the new key, and that file replaces `secret.key` only once
 * every value was re-encrypted and committed; both are read at start, so a crash at any step leaves every value
 * readable without NORI_SECRET_KEY:
 *
 * 1. `secret.key.next` written atomically (a 0600 temp file in the folder, fsync, rename, fsync of the folder);
 * 2. the engine encrypts new values with it, and rotation re-encrypts the old ones, batch by committed batch;
 * 3. `secret.key.next` renamed over `secret.key` (atomic), the folder fsynced: the old key is gone.
 *
 * A crash before 1 ends leaves the old key alone in use; between 1 and 3, both keys are read; after 3, the new.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../config.js';

export const KEY_FILE = 'secret.key';
export const NEXT_KEY_FILE = 'secret.key.next';

export interface KeyFiles {
  /** The key in `secret.key`, if the folder has one. */
  readonly current?: string;
  /** The key of a rotation that has not finished, in `secret.key.next`. */
  readonly next?: string;
}

const read = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8').trim() || undefined : undefined);

export function readKeyFiles(dataDir: string): KeyFiles {
  const current = read(join(dataDir, KEY_FILE));
  const next = read(join(dataDir, NEXT_KEY_FILE));
  return { ...(current ? { current } : {}), ...(next ? { next } : {}) };
}

function fsyncFolder(dataDir: string): void {
  const fd = openSync(dataDir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes `name` in the folder so that it holds either its old content or all of `key`, never a part. */
export function writeKeyFile(dataDir: string, name: string, key: string): void {
  const temp = join(dataDir, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, key + '\n');
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw e;
  }
  closeSync(fd);
  renameSync(temp, join(dataDir, name));
  fsyncFolder(dataDir);
}

/**
 * Rotates the folder's key to `target` around `reencrypt`, in the order the module header gives. Refuses while
 * an interrupted rotation to another key is staged: values may already be encrypted with that one.
 */
export async function rotateKeyFile<T>(dataDir: string, target: string, adopt: () => void, reencrypt: () => Promise<T>): Promise<T> {
  const { next } = readKeyFiles(dataDir);
  if (next !== undefined && next !== target) {
    throw new ConfigError(
      `NORI_DATA_DIR ${dataDir} holds an unfinished rotation to another key (${NEXT_KEY_FILE}); finish it first: run nori secrets rotate without NORI_SECRET_KEY, then rotate to the new key`,
    );
  }
  if (next === undefined) writeKeyFile(dataDir, NEXT_KEY_FILE, target);
  adopt();
  const result = await reencrypt();
  renameSync(join(dataDir, NEXT_KEY_FILE), join(dataDir, KEY_FILE));
  fsyncFolder(dataDir);
  return result;
}
