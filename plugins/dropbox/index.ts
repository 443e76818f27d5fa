/**
 * @module plugins/dropbox
 * Dropbox API v2: RPC endpoints take their argument as a JSON body on the API host; content endpoints take it
 * in the Dropbox-API-Arg header on the content host (setting CONTENT_URL) and carry the file as the body.
 * Results are Dropbox's own JSON, keys as Dropbox names them (docs/plugins/dropbox.md).
 */
import { definePlugin, type ResultValue, type ServiceContext, type ServiceFailure, type ServiceResponse } from '../../src/sdk/index.js';
import { definition } from './definition.js';

/**
 * Dropbox reads Dropbox-API-Arg as ASCII: 0x7F and every non-ASCII UTF-16 unit is escaped as \uXXXX (a
 * character outside the BMP as its two surrogates), which JSON itself allows.
 */
const headerSafeJson = (value: unknown): string =>
  JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/**
 * A listing that follows every page stops once it holds this many entries and answers has_more with its cursor,
 * so one CALL stays bounded in memory and in XML; the caller goes on with CURSOR.
 */
export const MAX_ENTRIES = 10_000;

interface ListPage {
  readonly entries: ResultValue[];
  readonly cursor: string;
  readonly has_more: boolean;
}

/** What the last tags of an error_summary mean (Dropbox's LookupError, WriteError and ListFolderContinueError). */
const MEANINGS: Readonly<Record<string, string>> = {
  not_found: 'there is nothing at this path',
  not_file: 'this path is a folder, not a file',
  not_folder: 'this path is a file, not a folder',
  malformed_path: 'Dropbox does not accept this path (it must start with "/" and not end with "/" or a space)',
  restricted_content: 'Dropbox will not transfer this content',
  conflict: 'something is already at this path',
  no_write_permission: 'the account may not write there',
  insufficient_space: 'the account has no space left',
  disallowed_name: 'Dropbox will not store a file of this name',
  too_many_write_operations: 'too many writes at once in this Dropbox; try again',
  reset: 'the cursor is no longer valid; list again without CURSOR',
};

/**
 * Dropbox's refusals: JSON with error_summary (401, 409, 429) or plain text (400). The code is the summary
 * without its trailing dots, which Dropbox varies on purpose ("path/not_found/.."); the union itself goes in
 * serviceData for callers that need its details.
 */
function dropboxError(res: ServiceResponse): ServiceFailure | undefined {
  const text = res.text().trim();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    // Dropbox's 400 "Error in call to API function …" is plain text, and says exactly what was wrong.
    return text ? { error: 'bad_request', message: text } : undefined;
  }
  const b = (typeof body === 'object' && body !== null ? body : {}) as { error_summary?: unknown; error?: unknown; user_message?: { text?: unknown } };
  if (typeof b.error_summary !== 'string') return typeof b.error === 'string' ? { error: b.error } : undefined;
  const error = b.error_summary.replace(/\/[.,\s]*$/, '') || 'error';
  const known = error.split('/').reverse().find((tag) => Object.hasOwn(MEANINGS, tag));
  const message = typeof b.user_message?.text === 'string' ? b.user_message.text : known && MEANINGS[known];
  return { error, message, data: b.error === undefined ? undefined : JSON.stringify(b.error) };
}

const rpc = <T = ResultValue>(request: ServiceContext['request'], url: string, arg: unknown): Promise<T> =>
  request({ method: 'POST', url, json: arg }).then((res) => res.json<T>());

/** Dropbox's root is the empty path; "/" is refused by Dropbox, but callers mean the root by it. */
const folderPath = (path: string | undefined) => (path === undefined || path === '/' ? '' : path);

export default definePlugin(definition, {
  // A call without argument: no body at all, as Dropbox documents it.
  GETPROFILE: async ({ request }) => (await request({ method: 'POST', url: '/2/users/get_current_account' })).json<ResultValue>(),

  LISTFILES: async ({ params, request, warn }) => {
    const { CURSOR, ALL = true } = params;
    if (CURSOR !== undefined && (params.PATH !== undefined || params.RECURSIVE !== undefined || params.LIMIT !== undefined)) {
      warn('PARAM_IGNORED', 'PATH, RECURSIVE and LIMIT are ignored with CURSOR: the cursor carries its own.');
    }
    let page =
      CURSOR !== undefined
        ? await rpc<ListPage>(request, '/2/files/list_folder/continue', { cursor: CURSOR })
        : await rpc<ListPage>(request, '/2/files/list_folder', { path: folderPath(params.PATH), recursive: params.RECURSIVE ?? false, ...(params.LIMIT !== undefined ? { limit: params.LIMIT } : {}) });
    if (!ALL) return { entries: page.entries, cursor: page.cursor, has_more: page.has_more };
    const entries = [...page.entries];
    while (page.has_more && entries.length < MAX_ENTRIES) {
      page = await rpc<ListPage>(request, '/2/files/list_folder/continue', { cursor: page.cursor });
      entries.push(...page.entries);
    }
    if (page.has_more) warn('LISTING_TRUNCATED', `Stopped after ${entries.length} entries; go on with CURSOR.`);
    return { entries, cursor: page.cursor, has_more: page.has_more };
  },

  GETFILEINFO: async ({ params, request }) => rpc(request, '/2/files/get_metadata', { path: params.PATH }),

  UPLOADFILE: async ({ params, request }) => {
    const mode = params.MODE ?? 'add';
    const arg = { path: params.PATH, mode, ...(params.AUTORENAME !== undefined ? { autorename: params.AUTORENAME } : {}) };
    const res = await request({
      method: 'POST',
      base: 'CONTENT_URL',
      url: '/2/files/upload',
      headers: { 'Dropbox-API-Arg': headerSafeJson(arg), 'Content-Type': 'application/octet-stream' },
      body: params.CONTENT,
      // Sending the same bytes over a file twice leaves one file; adding twice may leave two ("name (1).ext").
      idempotent: mode === 'overwrite',
    });
    return res.json<ResultValue>();
  },

  DOWNLOADFILE: async ({ params, request, warn }) => {
    // No body, so no Content-Type: the argument travels in the header, as Dropbox's own examples send it.
    const res = await request({ method: 'POST', base: 'CONTENT_URL', url: '/2/files/download', headers: { 'Dropbox-API-Arg': headerSafeJson({ path: params.PATH }) } });
    let metadata: ResultValue = null;
    try {
      metadata = JSON.parse(res.headers['dropbox-api-result'] ?? '') as ResultValue;
    } catch {
      warn('NO_METADATA', 'Dropbox sent the file without a readable Dropbox-API-Result header.');
    }
    return { metadata, content: res.body };
  },
}, {
  serviceError: dropboxError,
  // Dropbox's revocation is not RFC 7009: the access token as a bearer, POST, no body. It ends the access token,
  // its refresh token and every access token that refresh token issued.
  async revoke({ request }) {
    await request({ method: 'POST', url: '/2/auth/token/revoke' });
  },
});
