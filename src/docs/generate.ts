/**
 * @module docs/generate
 * Writes what is derived from the element definitions and the message table: the XSD editors use, the
 * fields table and the codes table. A test fails when a committed file differs from its render.
 */
import { ELEMENTS } from '../../schemas/index.js';
import type { ElementDef, FieldDef } from '../../schemas/types.js';
import { MESSAGES, type MessageCode } from '../errors.js';
import { OPERATORS } from '../validate-criteria.js';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The simple type of a field's value in CREATE and UPDATE; empty text clears an optional field. */
function valueType(def: FieldDef): string {
  const empty = '<xs:enumeration value=""/>';
  const restriction = (body: string, base = 'xs:string') => `<xs:simpleType><xs:restriction base="${base}">${body}</xs:restriction></xs:simpleType>`;
  switch (def.type) {
    case 'id':
      return restriction(`<xs:pattern value="([1-9][0-9]{0,9})?"/>`);
    case 'flag':
      return restriction('<xs:enumeration value="0"/><xs:enumeration value="1"/>');
    case 'enum':
      return restriction((def.values ?? []).map((v) => `<xs:enumeration value="${esc(v)}"/>`).join('') + (def.required ? '' : empty));
    case 'map':
      return '<xs:complexType><xs:sequence><xs:any processContents="skip" minOccurs="0" maxOccurs="unbounded"/></xs:sequence></xs:complexType>';
    case 'datetime':
      return restriction(`<xs:pattern value="(\\d{4}-\\d{2}-\\d{2}([ T]\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,6})?)?)?Z?)?"/>`);
    default:
      return restriction(def.maxLength ? `<xs:maxLength value="${def.maxLength}"/>` : '');
  }
}

function infoType(element: ElementDef, verb: 'CREATE' | 'UPDATE'): string {
  const fields = Object.entries(element.fields).filter(([n, d]) =>
    verb === 'UPDATE' ? d.writable === 'client' || n === 'MODIFICATIONDATE' || n === 'AUTHORIZATION_STATE' : d.writable !== 'nori');
  const items = fields.map(([n, d]) => {
    const type = n === 'AUTHORIZATION_STATE'
      ? '<xs:simpleType><xs:restriction base="xs:string"><xs:enumeration value="disabled"/><xs:enumeration value="authorized"/><xs:enumeration value="revoked"/></xs:restriction></xs:simpleType>'
      : valueType(d);
    return `<xs:element name="${n}" minOccurs="0">${type}</xs:element>`;
  });
  return `<xs:complexType name="${element.name}_${verb}_INFO"><xs:all>${items.join('')}</xs:all></xs:complexType>`;
}

function criteriaType(element: ElementDef): string {
  const items = Object.entries(element.fields).filter(([, d]) => d.type !== 'secret' && d.type !== 'map')
    .map(([n]) => `<xs:element name="${n}" type="Criterion" minOccurs="0"/>`);
  return `<xs:complexType name="${element.name}_CRITERIA"><xs:all>${items.join('')}</xs:all></xs:complexType>`;
}

/** RETURN: the fields of INFO and (accounts) HISTORY, or NOTHING alone for the IDs only. */
function returnType(element: ElementDef): string {
  const items = Object.entries(element.fields).filter(([, d]) => d.type !== 'secret').map(([n]) => `<xs:element name="${n}" type="Empty" minOccurs="0"/>`);
  const history = element.name === 'WEBACCOUNT' ? '<xs:element name="HISTORY" type="Empty" minOccurs="0"/>' : '';
  const some = `<xs:sequence><xs:element name="INFO" minOccurs="0"><xs:complexType><xs:all>${items.join('')}</xs:all></xs:complexType></xs:element>${history}</xs:sequence>`;
  return `<xs:complexType name="${element.name}_RETURN"><xs:choice><xs:element name="NOTHING" type="Empty"/>${some}</xs:choice></xs:complexType>`;
}

/** One element type as it may appear under each verb. */
function elementTypes(e: ElementDef): string {
  const n = e.name;
  const id = '<xs:attribute name="ID" type="IdList" use="required"/>';
  // UPDATE, DELETE and KILL: the ID attribute or a WHERE, not both (which the engine checks; XSD 1.0 cannot say it).
  const idOrWhere = '<xs:attribute name="ID" type="IdList"/>';
  const where = `<xs:element name="WHERE" type="${n}_WHERE" minOccurs="0"/>`;
  return [
    infoType(e, 'CREATE'), infoType(e, 'UPDATE'), criteriaType(e), returnType(e),
    `<xs:complexType name="${n}_WHERE"><xs:sequence><xs:element name="INFO" type="${n}_CRITERIA" maxOccurs="unbounded"/></xs:sequence></xs:complexType>`,
    `<xs:complexType name="${n}_CREATE"><xs:sequence><xs:element name="INFO" type="${n}_CREATE_INFO"/></xs:sequence></xs:complexType>`,
    `<xs:complexType name="${n}_UPDATE"><xs:sequence>${where}<xs:element name="INFO" type="${n}_UPDATE_INFO"/></xs:sequence>${idOrWhere}</xs:complexType>`,
    `<xs:complexType name="${n}_GET"><xs:sequence><xs:element name="RETURN" type="${n}_RETURN" minOccurs="0"/></xs:sequence>${id}</xs:complexType>`,
    `<xs:complexType name="${n}_SEARCH"><xs:sequence><xs:element name="INFO" type="${n}_CRITERIA" minOccurs="0" maxOccurs="unbounded"/><xs:element name="RETURN" type="${n}_RETURN" minOccurs="0"/></xs:sequence></xs:complexType>`,
    `<xs:complexType name="${n}_ID"><xs:sequence><xs:any processContents="lax" minOccurs="0" maxOccurs="unbounded"/></xs:sequence>${id}</xs:complexType>`,
    `<xs:complexType name="${n}_REMOVE"><xs:sequence>${where}</xs:sequence>${idOrWhere}</xs:complexType>`,
  ].join('\n    ');
}

function command(verb: string, inner: (e: ElementDef) => string, extra = ''): string {
  const choices = [...ELEMENTS.values()].map((e) => `<xs:element name="${e.name}" type="${inner(e)}"/>`).join('');
  return `<xs:element name="${verb}"><xs:complexType><xs:sequence><xs:choice>${choices}</xs:choice>${extra}</xs:sequence><xs:attribute name="name" type="xs:string"/></xs:complexType></xs:element>`;
}

export function renderXsd(): string {
  const range = '<xs:choice minOccurs="0"><xs:element name="PAGINATE"><xs:complexType><xs:attribute name="display" type="xs:positiveInteger"/><xs:attribute name="page" type="xs:positiveInteger"/></xs:complexType></xs:element>'
    + '<xs:element name="SLICE"><xs:complexType><xs:attribute name="start" type="xs:positiveInteger"/><xs:attribute name="end" type="xs:positiveInteger"/></xs:complexType></xs:element></xs:choice>';
  const searchExtras = range + '<xs:element name="SORT" minOccurs="0" maxOccurs="unbounded"><xs:complexType><xs:attribute name="select" type="xs:string" use="required"/><xs:attribute name="order"><xs:simpleType><xs:restriction base="xs:string"><xs:enumeration value="ascending"/><xs:enumeration value="descending"/></xs:restriction></xs:simpleType></xs:attribute></xs:complexType></xs:element>';
  // RETURN may also stand beside the element, where its fields cannot be tied to the element's type.
  const looseReturn = '<xs:element name="RETURN" type="LooseReturn" minOccurs="0"/>';
  const commands = [
    command('CREATE', (e) => `${e.name}_CREATE`),
    command('GET', (e) => `${e.name}_GET`, looseReturn),
    command('SEARCH', (e) => `${e.name}_SEARCH`, searchExtras + looseReturn),
    command('COUNT', (e) => `${e.name}_SEARCH`),
    command('UPDATE', (e) => `${e.name}_UPDATE`),
    command('DELETE', (e) => `${e.name}_REMOVE`),
    command('KILL', (e) => `${e.name}_REMOVE`),
    command('AUTHORIZE', (e) => `${e.name}_ID`),
    command('CALL', (e) => `${e.name}_ID`),
  ];
  return `<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated from schemas/*.ts by npm run docs: do not edit by hand. -->
<!-- The nori request language: a QUERY of commands on WEBAPI and WEBACCOUNT (docs/commands.md). -->
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" elementFormDefault="qualified">
  <xs:element name="QUERY">
    <xs:complexType>
      <xs:choice minOccurs="0" maxOccurs="unbounded">${['CREATE', 'GET', 'SEARCH', 'COUNT', 'UPDATE', 'DELETE', 'KILL', 'AUTHORIZE', 'CALL'].map((v) => `<xs:element ref="${v}"/>`).join('')}</xs:choice>
      <xs:attribute name="atomic" type="xs:boolean"/>
    </xs:complexType>
  </xs:element>
  ${commands.join('\n  ')}
  <xs:simpleType name="IdList"><xs:restriction base="xs:string"><xs:pattern value="\\s*[0-9]+(\\s*,\\s*[0-9]+)*\\s*"/></xs:restriction></xs:simpleType>
  <xs:complexType name="Empty"/>
  <xs:complexType name="LooseReturn"><xs:sequence><xs:any processContents="skip" minOccurs="0" maxOccurs="unbounded"/></xs:sequence></xs:complexType>
  <xs:complexType name="Criterion"><xs:simpleContent><xs:extension base="xs:string"><xs:attribute name="operator"><xs:simpleType><xs:restriction base="xs:string">${OPERATORS.map((o) => `<xs:enumeration value="${esc(o)}"/>`).join('')}</xs:restriction></xs:simpleType></xs:attribute></xs:extension></xs:simpleContent></xs:complexType>
  ${[...ELEMENTS.values()].map(elementTypes).join('\n  ')}
</xs:schema>
`;
}

const WRITABLE = { client: 'client', create: 'on CREATE', nori: 'nori' } as const;

export function renderElementsDoc(): string {
  const out = ['# Elements', '', 'Generated from `schemas/*.ts` by `npm run docs`. Dates are UTC, written `YYYY-MM-DD hh:mm:ss.SSS`.', ''];
  for (const e of ELEMENTS.values()) {
    out.push(`## ${e.name}`, '', e.doc + (e.adminWrite ? ' Every caller reads it; only administrators write it.' : ''), '');
    out.push('| field | type | written by | required | default | max length | values | meaning |', '| --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const [name, d] of Object.entries(e.fields)) {
      const type = d.type === 'secret' ? 'secret: write-only, encrypted at rest' : d.type === 'reference' ? `reference to ${d.target?.element}.${d.target?.field}` : d.type;
      out.push(`| ${name} | ${type} | ${WRITABLE[d.writable]} | ${d.required ? 'yes' : ''} | ${d.default ?? ''} | ${d.maxLength ?? ''} | ${d.values?.join(', ') ?? ''} | ${d.doc.replace(/\|/g, '\\|')} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

export function renderErrorsDoc(): string {
  const out = [
    '# Message codes', '',
    'Generated from `MESSAGES` in `src/errors.ts` by `npm run docs`. Codes are stable and never reused. msgType 0 is',
    'success, 1 an error, 2 a step the user must take first (a consent page), 3 a security (permission) error. The HTTP status applies when the code refuses a whole',
    'request (or ends an authorization callback); inside a batch that ran, every command answers within a 200.', '',
    '| code | msgType | HTTP status | message |', '| --- | --- | --- | --- |',
  ];
  for (const code of Object.keys(MESSAGES) as MessageCode[]) {
    const m = MESSAGES[code];
    out.push(`| \`${code}\` | ${m.msgType} | ${m.status} | ${m.message.replace(/\|/g, '\\|')} |`);
  }
  return out.join('\n') + '\n';
}

export const GENERATED: ReadonlyArray<{ readonly path: string; render(): string }> = [
  { path: 'schemas/nori.xsd', render: renderXsd },
  { path: 'docs/elements.md', render: renderElementsDoc },
  { path: 'docs/errors.md', render: renderErrorsDoc },
];
