/**
 * @module test/helpers/xsd
 * XML Schema validation by libxml2 itself, the library behind xmllint and most editors, compiled to WebAssembly
 * and installed from npm (libxml2-wasm): the published XSD is judged by a reference implementation, not by
 * nori's own reading of it, with nothing to install on the system. The one module that imports libxml2-wasm.
 */
import { XmlDocument, XmlLibError, XsdValidator } from 'libxml2-wasm';

export interface Xsd {
  /** Why the schema refuses a document ("line N: message"), or [] when it accepts it. */
  errors(xml: Uint8Array): string[];
  /** Frees libxml2's copy of the schema (WebAssembly memory is not garbage-collected). */
  dispose(): void;
}

const describe = (e: unknown): string[] =>
  e instanceof XmlLibError && e.details.length ? e.details.map((d) => `line ${d.line}: ${d.message.trim()}`) : [(e as Error).message.trim()];

/** Compiles an XSD; one that is no valid schema throws with libxml2's messages. */
export function loadXsd(source: Uint8Array): Xsd {
  const schema = XmlDocument.fromBuffer(source);
  let validator: XsdValidator;
  try {
    validator = XsdValidator.fromDoc(schema);
  } catch (e) {
    schema.dispose();
    throw new Error(`not a valid XML Schema: ${describe(e).join('; ')}`, { cause: e });
  }
  return {
    errors(xml) {
      let doc: XmlDocument;
      try {
        doc = XmlDocument.fromBuffer(xml);
      } catch (e) {
        return describe(e); // not even well-formed
      }
      try {
        validator.validate(doc);
        return [];
      } catch (e) {
        return describe(e);
      } finally {
        doc.dispose();
      }
    },
    dispose() {
      validator.dispose();
      schema.dispose();
    },
  };
}
