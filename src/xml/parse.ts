/** @module xml/parse A request body to a small element tree, within hard limits and with no DOCTYPE; the only module that imports saxes. */
import { SaxesParser } from 'saxes';
import { NoriError, failure, type MessageCode, type Params } from '../errors.js';

// Limits are checked inside saxes' own event handlers, so a hostile document is refused where it crosses one
// rather than after it has been built. Refusing every DOCTYPE means no entity can be declared, so the only
// entities ever expanded are the five predefined ones and character references.

export interface XmlNode {
  readonly name: string;
  /** Attribute values, in a null-prototype object (no `__proto__` surprises). */
  readonly attributes: Readonly<Record<string, string>>;
  readonly children: XmlNode[];
  /** The element's own direct text and CDATA, entities decoded, untrimmed; '' if none. */
  text: string;
  /** 1-based line of the start tag's `<`. */
  readonly line: number;
  /** 1-based column of the start tag's `<`, in Unicode characters (as saxes counts columns). */
  readonly column: number;
}

export interface XmlLimits {
  /** Size of the body in bytes (a Buffer's length, or a string's UTF-8 length). */
  maxBytes: number;
  /** Nesting depth; the root is depth 1. */
  maxDepth: number;
  /** Elements in the whole document. */
  maxElements: number;
  /** Attributes on one element. */
  maxAttributes: number;
  /** Length (UTF-16 code units) of one attribute value. */
  maxAttributeLength: number;
  /** Length (UTF-16 code units) of one element's text, all its pieces together. */
  maxTextLength: number;
  /** Child elements of the root: the commands of a batch. */
  maxCommands: number;
}

export const DEFAULT_LIMITS: Readonly<XmlLimits> = Object.freeze({
  maxBytes: 16 * 1024 * 1024,
  maxDepth: 64,
  maxElements: 200_000,
  maxAttributes: 32,
  maxAttributeLength: 8192,
  maxTextLength: 1_048_576,
  maxCommands: 10_000,
});

/**
 * The attributes of every element that has none: one shared, frozen object. Most elements have none, and
 * validation skips the check of their names when it sees this one (a key walk of saxes' null-prototype
 * object, a dictionary to V8, cost as much as the rest of a command's validation).
 */
export const NO_ATTRIBUTES: Readonly<Record<string, string>> = Object.freeze(Object.create(null) as Record<string, string>);

const LT = 0x3c;
// Its default ignoreBOM: false is what strips a leading BOM.
const decoder = new TextDecoder('utf-8', { fatal: true });

// Names and saxes reasons are echoed into responses; a hostile document could make them megabytes long.
const clip = (s: string): string => (s.length > 80 ? `${s.slice(0, 80)}…` : s);

function toText(body: string | Uint8Array, limits: XmlLimits): string {
  // The size is checked before decoding so an oversized body costs no work beyond its length.
  const bytes = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
  if (bytes > limits.maxBytes) throw new NoriError(failure('LIMIT_BODY_SIZE', { limit: limits.maxBytes }));
  if (typeof body === 'string') return body.charCodeAt(0) === 0xfeff ? body.slice(1) : body;
  try {
    return decoder.decode(body);
  } catch (cause) {
    throw new NoriError(failure('XML_ENCODING', { detail: '' }), { cause });
  }
}

/** Characters (code points) in src[from, to): high surrogates open a pair saxes counts as one column. */
function width(src: string, from: number, to: number): number {
  let n = to - from;
  for (let i = from; i < to; i++) {
    const c = src.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) n--;
  }
  return n;
}

/** Start of the line holding src[index]; XML 1.1 also breaks lines at NEL and LS. */
function lineStart(src: string, index: number, xml11: boolean): number {
  let i = index;
  for (; i > 0; i--) {
    const c = src.charCodeAt(i - 1);
    if (c === 0x0a || c === 0x0d || (xml11 && (c === 0x85 || c === 0x2028))) break;
  }
  return i;
}

/**
 * Parses a request body into a tree, enforcing `limits` while it streams. With `onCommand`, each child of the
 * root is handed over as soon as it closes and is not kept in the tree: a batch's commands are validated one by
 * one and their elements dropped, so memory does not grow with the batch.
 * Throws NoriError: LIMIT_* for a limit crossed, XML_FORBIDDEN_DECLARATION for any DOCTYPE, XML_ENCODING for
 * bytes that are not UTF-8 or a declaration naming another encoding, XML_MALFORMED for anything saxes refuses;
 * each with the 1-based line and column where it was found (none for LIMIT_BODY_SIZE and undecodable bytes).
 * @example
 * const root = parseXml('<QUERY>\n  <GET><WEBACCOUNT ID="2"/></GET>\n</QUERY>');
 * root.children[0]!.name;                   // 'GET'
 * root.children[0]!.line;                   // 2
 * root.children[0]!.column;                 // 3
 * root.children[0]!.children[0]!.attributes; // { ID: '2' }
 */
export function parseXml(body: string | Uint8Array, limits: XmlLimits = DEFAULT_LIMITS, onCommand?: (node: XmlNode) => void): XmlNode {
  const src = toText(body, limits);
  const parser = new SaxesParser({ xmlns: false, position: true });
  const stack: XmlNode[] = [];
  const lengths: number[] = []; // text length so far, per open element
  const pieces: (string[] | undefined)[] = []; // text pieces, per open element, only once there are two
  let top: XmlNode | undefined;
  let root: XmlNode | undefined;
  let depth = 0;
  let elements = 0;
  let commands = 0;
  let attributes = 0;
  let tagName = '';
  let tagLine = 1;
  let tagColumn = 1;

  // Limits met inside an element point at its start tag; the others at where saxes stands.
  const here = () => ({ line: parser.line, column: parser.column + 1 });
  const atTag = () => ({ line: tagLine, column: tagColumn });
  const stop = (code: MessageCode, params: Params, at: { line: number; column: number }): never => {
    throw new NoriError(failure(code, params, at));
  };

  // The XML declaration and any DOCTYPE come before the root element, so they are checked when it starts rather
  // than with handlers of their own: past six handlers, V8 stops optimising saxes' handler lookups and the
  // parse runs at a seventh of its speed (docs/performance.md). The DOCTYPE is found in the prologue's text
  // (a comment that merely mentions one is refused too: the safe side); the root's content is not read yet.
  const prologue = (rootAt: number) => {
    const enc = parser.xmlDecl.encoding;
    const lower = enc?.toLowerCase();
    if (enc !== undefined && lower !== 'utf-8' && lower !== 'utf8') {
      stop('XML_ENCODING', { detail: `: the XML declaration says ${clip(enc)}; nori reads UTF-8 only` }, { line: 1, column: 1 });
    }
    const index = src.lastIndexOf('<!DOCTYPE', rootAt);
    if (index < 0) return;
    const line = src.slice(0, index).split(/\r\n|\r|\n/).length;
    stop('XML_FORBIDDEN_DECLARATION', { what: 'DOCTYPE declaration' }, { line, column: width(src, lineStart(src, index, false), index) + 1 });
  };

  parser.on('opentagstart', (tag) => {
    // saxes stands just past the character that ended the name (two for CR LF); step back to the '<'.
    const name = tag.name;
    const pos = parser.position;
    let lt = pos - name.length - 2;
    if (src.charCodeAt(lt) !== LT) lt--;
    const back = pos - lt;
    const index = parser.columnIndex;
    if (index >= back) {
      tagLine = parser.line;
      // columnIndex counts code units and column characters: they differ only after an astral character.
      tagColumn = parser.column - (index === parser.column ? back : width(src, lt, pos)) + 1;
    } else {
      // A line break ended the name: the '<' is on the line before. Each line ends at most once this way,
      // so the scan stays linear over the document.
      tagLine = parser.line - 1;
      tagColumn = width(src, lineStart(src, lt, parser.xmlDecl.version === '1.1'), lt) + 1;
    }
    tagName = name;
    attributes = 0;
    if (elements === 0) prologue(lt);
    if (++elements > limits.maxElements) stop('LIMIT_ELEMENTS', { limit: limits.maxElements }, atTag());
    if (depth >= limits.maxDepth) stop('LIMIT_DEPTH', { limit: limits.maxDepth }, atTag());
    if (depth === 1 && ++commands > limits.maxCommands) stop('LIMIT_COMMANDS', { limit: limits.maxCommands }, atTag());
  });

  // saxes reports each attribute as it completes, so a start tag with a million of them stops at the first
  // one past the limit.
  parser.on('attribute', (attr) => {
    if (++attributes > limits.maxAttributes) stop('LIMIT_ATTRIBUTES', { name: clip(tagName), limit: limits.maxAttributes }, atTag());
    if (attr.value.length > limits.maxAttributeLength) {
      stop('LIMIT_ATTRIBUTE_LENGTH', { name: clip(attr.name), limit: limits.maxAttributeLength }, atTag());
    }
  });

  parser.on('opentag', (tag) => {
    const node: XmlNode = { name: tag.name, attributes: attributes === 0 ? NO_ATTRIBUTES : tag.attributes, children: [], text: '', line: tagLine, column: tagColumn };
    if (top === undefined) root = node;
    else top.children.push(node);
    stack[depth] = node;
    lengths[depth] = 0;
    depth++;
    top = node;
  });

  // saxes sends a self-closing tag's closetag too, so every element is opened and closed here.
  parser.on('closetag', () => {
    depth--;
    const parts = pieces[depth];
    if (parts !== undefined) {
      top!.text = parts.join('');
      pieces[depth] = undefined;
    }
    const closed = top!;
    top = depth > 0 ? stack[depth - 1] : undefined;
    if (depth === 1 && onCommand) {
      root!.children.pop();
      onCommand(closed);
    }
  });

  const onText = (t: string): void => {
    if (top === undefined) return; // whitespace around the root; saxes refuses anything else there
    const d = depth - 1;
    const length = lengths[d]! + t.length;
    if (length > limits.maxTextLength) {
      tagLine = top.line;
      tagColumn = top.column;
      stop('LIMIT_TEXT_LENGTH', { limit: limits.maxTextLength }, atTag());
    }
    lengths[d] = length;
    if (top.text === '') top.text = t;
    else {
      const parts = pieces[d];
      if (parts === undefined) pieces[d] = [top.text, t];
      else parts.push(t);
    }
  };
  parser.on('text', onText);
  parser.on('cdata', onText);

  try {
    parser.write(src).close();
  } catch (e) {
    if (e instanceof NoriError) throw e;
    // saxes prefixes "line:column: " and ends with a period; the message template adds its own.
    const reason = clip(String((e as Error).message).replace(/^\d+:\d+: /, '').replace(/\.$/, ''));
    throw new NoriError(failure('XML_MALFORMED', { reason }, here()), { cause: e });
  }
  // saxes refuses a document without a root, so this only satisfies the type checker.
  if (root === undefined) throw new NoriError(failure('XML_MALFORMED', { reason: 'document must contain a root element' }));
  return root;
}
