/**
 * Field names that are also keys of Object.prototype (`constructor`, `toString`, `__proto__`…) name no field:
 * looked up in a plain object they would find a function and crash the command instead of refusing it.
 */
import assert from 'node:assert/strict';
import type { Engine } from '../../src/engine.js';
import { ADMIN, ALICE, makeEngine } from '../helpers/engine.js';
import { expectError, only, q } from '../helpers/xml.js';

const NAMES = ['constructor', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', '__proto__', '__defineGetter__', 'toLocaleString'];

/** Each place a field name is read, with the name put there. */
const PLACES: Record<string, (element: string, name: string) => string> = {
  'a CREATE field': (e, n) => `<CREATE><${e}><INFO><${n}>x</${n}></INFO></${e}></CREATE>`,
  'an UPDATE field': (e, n) => `<UPDATE><${e} ID="1"><INFO><${n}>x</${n}></INFO></${e}></UPDATE>`,
  'a SEARCH criterion': (e, n) => `<SEARCH><${e}><INFO><${n}>x</${n}></INFO></${e}></SEARCH>`,
  'a COUNT criterion': (e, n) => `<COUNT><${e}><INFO><${n} operator="contains">x</${n}></INFO></${e}></COUNT>`,
  'a SORT select': (e, n) => `<SEARCH><${e}/><SORT select="${n}"/></SEARCH>`,
  'a GET RETURN field': (e, n) => `<GET><${e} ID="1"><RETURN><INFO><${n}/></INFO></RETURN></${e}></GET>`,
  'a SEARCH RETURN field': (e, n) => `<SEARCH><${e}/><RETURN><INFO><${n}/></INFO></RETURN></SEARCH>`,
};

describe('security: field names that are Object.prototype keys', () => {
  let engine: Engine;
  before(async function () {
    this.timeout(60_000);
    engine = await makeEngine({ plugins: { builtins: false } });
  });
  after(async () => engine.close());

  for (const [place, build] of Object.entries(PLACES)) {
    it(`refuses them as ${place} with UNKNOWN_FIELD, as an admin and as a user`, async () => {
      for (const element of ['WEBAPI', 'WEBACCOUNT']) {
        for (const name of NAMES) {
          for (const who of [ADMIN, ALICE]) {
            const r = await engine.run(q(build(element, name)), who);
            assert.equal(r.status, 200, `${place} ${element} ${name}`);
            const reply = expectError(only(r.xml), 'UNKNOWN_FIELD');
            assert.equal(reply.text.startsWith(`${element} has no field ${name}`), true, reply.text);
          }
        }
      }
    });
  }
});
