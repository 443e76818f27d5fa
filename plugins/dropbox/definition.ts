/**
 * @module plugins/dropbox/definition
 * Dropbox API v2 as data: OAuth 2.0 (PKCE, offline access so a refresh token is issued), the RPC host and the
 * content host, and the CALL methods with their parameters. The implementation is in index.ts.
 */
import type { PluginDefinition } from '../../src/sdk/index.js';

/** A Dropbox path: "/folder/file.txt", "id:…" or "ns:…"; case-insensitive, case-preserving. */
const PATH_DOC = 'the Dropbox path ("/Folder/file.txt"), or a file id ("id:…")';

export const definition = {
  name: 'dropbox',
  description: 'Dropbox API v2: the account, and files listed, described, uploaded and downloaded.',
  baseUrl: 'https://api.dropboxapi.com',
  authType: 'oauth2',
  auth: {
    oauth2: {
      authorizeUrl: 'https://www.dropbox.com/oauth2/authorize',
      tokenUrl: 'https://api.dropboxapi.com/oauth2/token',
      // Not RFC 7009 (it takes the token as a bearer, with no body): see docs/plugins/dropbox.md, "Revocation".
      scopes: 'account_info.read files.metadata.read files.content.read files.content.write',
      // Without it Dropbox issues a 4-hour access token and no refresh token.
      authorizeParams: { token_access_type: 'offline' },
    },
  },
  settings: {
    CONTENT_URL: { type: 'url', doc: 'Base URL of the content host, which serves uploads and downloads.', default: 'https://content.dropboxapi.com' },
  },
  methods: {
    GETPROFILE: {
      doc: 'The Dropbox account of the WEBACCOUNT (users/get_current_account): account_id, name, email, country…',
      params: {},
      idempotent: true,
    },
    LISTFILES: {
      doc: 'The entries of a folder (files/list_folder): every page by default, or one page at a time with ALL false and CURSOR.',
      params: {
        PATH: { type: 'text', doc: 'The folder to list; empty (or "/") for the root.' },
        RECURSIVE: { type: 'boolean', doc: 'Whether to list the subfolders\' entries too. Default false.' },
        LIMIT: { type: 'integer', min: 1, max: 2000, doc: 'Entries per page Dropbox aims at (approximate). Default: Dropbox\'s own.' },
        CURSOR: { type: 'text', doc: 'Go on from this cursor (files/list_folder/continue) instead of starting at PATH; PATH, RECURSIVE and LIMIT are then the cursor\'s own.' },
        ALL: { type: 'boolean', doc: 'true (default): follow every page and return all entries; false: return one page, and has_more says whether to call again with its cursor.' },
      },
      idempotent: true,
    },
    GETFILEINFO: {
      doc: 'The metadata of one file or folder (files/get_metadata).',
      params: { PATH: { type: 'text', required: true, doc: `The file or folder: ${PATH_DOC}.` } },
      idempotent: true,
    },
    UPLOADFILE: {
      doc: 'Stores a file of at most 150 MiB (files/upload, on the content host); answers its metadata.',
      params: {
        PATH: { type: 'text', required: true, doc: 'Where to store it, from the root: "/Folder/name.ext".' },
        CONTENT: { type: 'base64', required: true, maxLength: 150 * 1024 * 1024, doc: 'The file\'s bytes, base64 (Dropbox takes at most 150 MiB in one upload).' },
        MODE: { type: 'enum', values: ['add', 'overwrite'], doc: 'add (default): never replace a file; overwrite: replace the file at PATH.' },
        AUTORENAME: { type: 'boolean', doc: 'With add, when PATH is taken: store as "name (1).ext" instead of failing. Default false.' },
      },
      // Decided per request: overwrite is idempotent, add is not (see index.ts).
      idempotent: false,
    },
    DOWNLOADFILE: {
      doc: 'A file\'s metadata and its bytes (files/download, on the content host).',
      params: { PATH: { type: 'text', required: true, doc: `The file: ${PATH_DOC}.` } },
      idempotent: true,
    },
  },
} as const satisfies PluginDefinition;
