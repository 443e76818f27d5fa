/**
 * @module xml/parse
 * A request body to a small element tree. The only module that imports saxes. Limits are enforced while the
 * document streams, so a hostile document is refused at the point it crosses one, and any DOCTYPE is refused
 * outright: no entity can be declared, so none is ever expanded.
 */
import { SaxesParser, type SaxesTagPlain } from 'saxes';
import { NoriError, failure, type MessageCode, type Params } from '../errors.js';

export interface XmlNode {
  readonly name: string;
  /** Attribute values, in a null-prototype object. */
  readonly attributes: Readonly<Record<string, string>>;
  readonly children: XmlNode[];
  /** The element's own text and CDATA, entities decoded, untrimmed. */
  text: string;
  /** 1-based position of the start tag's `<`. */
  readonly line: number;
  readonly column: number;
}

export interface XmlLimits {
  /** Bytes of the body. */
  maxBytes: number;
  /** Nesting depth; the root is depth 1. */
  maxDepth: number;
  /** Elements in the document. */
  maxElements: number;
  /** Attributes on one element. */
  maxAttributes: number;
  /** Characters of one attribute value. */
  maxAttributeLength: number;
  /** Characters of one element's text. */
  maxTextLength: number;
  /** Children of the root: commands. */
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

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

function decode(body: string | Uint8Array, limits: XmlLimits): string {
  if (typeof body === 'string') {
    if (Buffer.byteLength(body) > limits.maxBytes) throw new NoriError(failure('LIMIT_BODY_SIZE', { limit: limits.maxBytes }));
    return body.charCodeAt(0) === 0xfeff ? body.slice(1) : body;
  }
  if (body.byteLength > limits.maxBytes) throw new NoriError(failure('LIMIT_BODY_SIZE', { limit: limits.maxBytes }));
  try {
    return decoder.decode(body); // strips a BOM
  } catch (cause) {
    throw new NoriError(failure('XML_ENCODING', { detail: '' }), { cause });
  }
}

/**
 * Parses a body within limits; throws NoriError (XML_*, LIMIT_*) with the position where it stopped.
 * @example
 * const root = parseXml('<QUERY><GET><WEBACCOUNT ID="2"/></GET></QUERY>');
 * root.children[0].name; // 'GET'
 */
export function parseXml(body: string | Uint8Array, limits: XmlLimits = DEFAULT_LIMITS): XmlNode {
  const text = decode(body, limits);
  const parser = new SaxesParser({ xmlns: false, position: true });
  const stack: XmlNode[] = [];
  let root: XmlNode | undefined;
  let elements = 0;
  let attributes = 0;
  let textLength = 0;
  let startLine = 1;
  let startColumn = 1;
  let pendingName = '';

  const stop = (code: MessageCode, params: Params = {}, at = { line: parser.line, column: parser.column + 1 }): never => {
    throw new NoriError(failure(code, params, at));
  };
  // Limits met at a start tag point at its '<'.
  const atTag = () => ({ line: startLine, column: startColumn });

  parser.on('xmldecl', (decl) => {
    const enc = decl.encoding?.toLowerCase();
    if (enc !== undefined && enc !== 'utf-8' && enc !== 'utf8') {
      stop('XML_ENCODING', { detail: `: the XML declaration says ${decl.encoding?.slice(0, 40)}; nori reads UTF-8 only` });
    }
  });
  parser.on('doctype', () => stop('XML_FORBIDDEN_DECLARATION', { what: 'DOCTYPE declaration' }));
  parser.on('opentagstart', (tag) => {
    // saxes stands one character past the name here: step back to the '<'.
    startLine = parser.line;
    startColumn = parser.column - tag.name.length - 1;
    pendingName = tag.name;
    attributes = 0;
    if (++elements > limits.maxElements) stop('LIMIT_ELEMENTS', { limit: limits.maxElements }, atTag());
    if (stack.length >= limits.maxDepth) stop('LIMIT_DEPTH', { limit: limits.maxDepth }, atTag());
    if (stack.length === 1 && stack[0]!.children.length >= limits.maxCommands) stop('LIMIT_COMMANDS', { limit: limits.maxCommands }, atTag());
  });
  parser.on('attribute', (attr) => {
    if (++attributes > limits.maxAttributes) stop('LIMIT_ATTRIBUTES', { name: pendingName, limit: limits.maxAttributes }, atTag());
    if (attr.value.length > limits.maxAttributeLength) stop('LIMIT_ATTRIBUTE_LENGTH', { name: attr.name.slice(0, 64), limit: limits.maxAttributeLength });
  });
  parser.on('opentag', (tag: SaxesTagPlain) => {
    const node: XmlNode = { name: tag.name, attributes: tag.attributes as Record<string, string>, children: [], text: '', line: startLine, column: startColumn };
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push(node);
    else root = node;
    textLength = 0;
    // saxes sends closetag for self-closing tags too, so every element is pushed and popped.
    stack.push(node);
  });
  const onText = (t: string) => {
    const node = stack[stack.length - 1];
    if (!node) return; // whitespace around the root
    textLength += t.length;
    if (textLength > limits.maxTextLength) stop('LIMIT_TEXT_LENGTH', { limit: limits.maxTextLength });
    node.text = node.text === '' ? t : node.text + t;
  };
  parser.on('text', onText);
  parser.on('cdata', onText);
  parser.on('closetag', () => {
    stack.pop();
    textLength = stack.length ? stack[stack.length - 1]!.text.length : 0;
  });

  try {
    parser.write(text).close();
  } catch (e) {
    if (e instanceof NoriError) throw e;
    const reason = String((e as Error).message).replace(/^\d+:\d+: /, '').replace(/\.$/, '');
    throw new NoriError(failure('XML_MALFORMED', { reason }, { line: parser.line, column: parser.column + 1 }), { cause: e });
  }
  if (!root) throw new NoriError(failure('XML_MALFORMED', { reason: 'the document has no root element' }, { line: parser.line, column: parser.column + 1 }));
  return root;
}
