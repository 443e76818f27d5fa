/**
 * @module test/peers/bayard/xml-tree
 * Reads Bayard XML in tests with an independent parser (xmldom) into a plain tree of element names, attributes,
 * trimmed texts and child elements, so fixtures and answers compare structurally, whitespace aside.
 */
import assert from 'node:assert/strict';
import { DOMParser, type Element } from '@xmldom/xmldom';

export interface XmlNode {
  readonly name: string;
  readonly attrs: Readonly<Record<string, string>>;
  /** Trimmed text content (for an element with children, the texts of all of them). */
  readonly text: string;
  readonly children: readonly XmlNode[];
}

function toNode(el: Element): XmlNode {
  const attrs: Record<string, string> = {};
  for (let i = 0; i < el.attributes.length; i++) attrs[el.attributes[i]!.name] = el.attributes[i]!.value;
  const children = Array.from(el.childNodes).filter((n): n is Element => n.nodeType === 1).map(toNode);
  return { name: el.tagName, attrs, text: (el.textContent ?? '').trim(), children };
}

/** Parses a document, failing the test if it is not well-formed. */
export function parseTree(xml: string): XmlNode {
  const errors: string[] = [];
  const doc = new DOMParser({ onError: (level, msg) => { if (level !== 'warning') errors.push(msg); } }).parseFromString(xml, 'text/xml');
  assert.deepEqual(errors, [], `not well-formed XML: ${xml.slice(0, 300)}`);
  return toNode(doc.documentElement!);
}

/** The element at `a/b/c` below `node` (each step the first child of that name). */
export function at(node: XmlNode, path: string): XmlNode {
  let current = node;
  for (const step of path.split('/')) {
    const next = current.children.find((c) => c.name === step);
    assert.ok(next, `no <${step}> in <${current.name}> (looking for ${path}): ${JSON.stringify(current.children.map((c) => c.name))}`);
    current = next;
  }
  return current;
}

export const textAt = (node: XmlNode, path: string) => at(node, path).text;
export const namesOf = (node: XmlNode) => node.children.map((c) => c.name);
