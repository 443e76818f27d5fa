/**
 * The Bayard peer answers every documented example of the spec: each entry of test/fixtures/bayard/index.json
 * that has a response is sent to a fresh peer with plain fetch, and the answer is compared with the fixture
 * element by element (names, order, attributes, trimmed texts). Values that cannot match are listed per case in
 * EXCEPTIONS, each with its reason, and each must be used.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { startBayardPeer, type BayardPeer } from './bayard.js';
import { parseTree, type XmlNode } from './bayard/xml-tree.js';

interface IndexEntry {
  readonly operation: string;
  readonly case: string;
  readonly section: string;
  readonly request: { readonly method: string; readonly path: string; readonly concretePath?: string; readonly contentType?: string; readonly form?: Readonly<Record<string, string>> };
  readonly response?: string;
  readonly note?: string;
}

const fixtures = new URL('../fixtures/bayard/', import.meta.url);
const index = JSON.parse(readFileSync(new URL('index.json', fixtures), 'utf8')) as IndexEntry[];

/**
 * - any-integer: a value the peer chooses (a new id); the answer must hold an integer there.
 * - elided: the spec wrote "..." for the content; the answer must have elements there, not compared.
 * - peer-omits: the fixture shows an element the service does not write; the answer must not have it.
 */
type Rule = { readonly path: string; readonly kind: 'any-integer' | 'elided' | 'peer-omits'; readonly why: string };
const ACCESS_GET: Rule[] = [
  { path: 'ApiAccess/SCRIPT', kind: 'peer-omits', why: 'a browser artefact before <get>, not Zend output (see advantage-routes.ts)' },
  { path: 'ApiAccess/get/CustomerAccess/SubscriptionAccessList/SubscriptionAccess', kind: 'elided', why: 'the spec elides the paper subscription' },
];
const EXCEPTIONS: Readonly<Record<string, readonly Rule[]>> = {
  'create.success': [{ path: 'ApiUser/create/user/id', kind: 'any-integer', why: 'a new account gets the next free id, 51 in the spec' }],
  'access-get.la-croix': ACCESS_GET,
  'access-get.a-documenter': ACCESS_GET,
};

function compare(expected: XmlNode, actual: XmlNode, path: string, rules: readonly Rule[], used: Set<Rule>): void {
  assert.equal(actual.name, expected.name, `element at ${path}`);
  const rule = rules.find((r) => r.path === path);
  if (rule) used.add(rule);
  if (rule?.kind === 'any-integer') {
    assert.match(actual.text, /^\d+$/, `${path}: ${rule.why}`);
    assert.equal(actual.children.length, 0, path);
    return;
  }
  if (rule?.kind === 'elided') {
    assert.equal(expected.text, '...', `${path} is elided in the fixture`);
    assert.ok(actual.children.length > 0, `${path}: ${rule.why}, but the answer has nothing there`);
    return;
  }
  assert.deepEqual(actual.attrs, expected.attrs, `attributes at ${path}`);
  const omitted = (c: XmlNode) => rules.find((r) => r.kind === 'peer-omits' && r.path === `${path}/${c.name}`);
  for (const c of expected.children) {
    const r = omitted(c);
    if (r) used.add(r);
  }
  const wanted = expected.children.filter((c) => !omitted(c));
  assert.deepEqual(actual.children.map((c) => c.name), wanted.map((c) => c.name), `children of ${path}`);
  if (wanted.length === 0) assert.equal(actual.text, expected.text, `text at ${path}`);
  wanted.forEach((c, i) => compare(c, actual.children[i]!, `${path}/${c.name}`, rules, used));
}

/** Sends an index request as a client would: form-encoded or multipart bodies, the path as the index gives it. */
function sendIndexRequest(peerUrl: string, request: IndexEntry['request']): Promise<Response> {
  const path = request.concretePath ?? request.path;
  assert.doesNotMatch(path, /\/:|\.\.\./, `not a sendable path: ${path}`);
  const init: RequestInit = { method: request.method };
  if (request.form) {
    if (request.contentType === 'multipart/form-data') {
      const form = new FormData();
      for (const [k, v] of Object.entries(request.form)) form.append(k, v);
      init.body = form;
    } else init.body = new URLSearchParams(request.form);
  }
  return fetch(`${peerUrl}${path}`, init);
}

describe('Bayard peer: the spec examples', () => {
  let peer: BayardPeer;
  beforeEach(async () => { peer = await startBayardPeer(); });
  afterEach(() => peer.close());

  it('has an index entry for every fixture file, and a file for every entry', () => {
    const files = readdirSync(fixtures).filter((f) => f.endsWith('.xml')).sort();
    const referenced = [...new Set(index.flatMap((e) => (e.response ? [e.response] : [])))].sort();
    assert.deepEqual(referenced, files);
    for (const e of index) assert.ok(e.response || e.note, `${e.operation}.${e.case}: an entry without a response says why in a note`);
  });

  for (const entry of index.filter((e) => e.response)) {
    const name = `${entry.operation}.${entry.case}`;
    it(`answers ${name} (${entry.request.method} ${entry.request.path}) as ${entry.response}`, async () => {
      const res = await sendIndexRequest(peer.url, entry.request);
      const body = await res.text();
      assert.equal(res.status, 200, body);
      assert.equal(res.headers.get('content-type'), 'text/xml; charset=utf-8');
      const expected = parseTree(readFileSync(new URL(entry.response!, fixtures), 'utf8'));
      const rules = EXCEPTIONS[name] ?? [];
      const used = new Set<Rule>();
      compare(expected, parseTree(body), expected.name, rules, used);
      assert.deepEqual(rules.filter((r) => !used.has(r)), [], 'every exception of this case applies');
    });
  }

  it('applies exceptions only to cases that exist', () => {
    const names = new Set(index.map((e) => `${e.operation}.${e.case}`));
    for (const name of Object.keys(EXCEPTIONS)) assert.ok(names.has(name), name);
  });
});
