import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { MESSAGES, describe as describeFailure, formatMessage, type MessageCode } from '../../src/errors.js';

function testSources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    // This file names every code itself; only it is left out (not client-errors.test.ts and the like).
    return statSync(path).isDirectory() ? testSources(path) : path.endsWith('.test.ts') && path !== join('test', 'engine', 'errors.test.ts') ? [readFileSync(path, 'utf8')] : [];
  });
}

describe('message codes', () => {
  it('every failure code is asserted by some test', () => {
    const sources = [...testSources('test'), ...testSources('plugins')].join('\n');
    const untested = (Object.keys(MESSAGES) as MessageCode[]).filter((code) => MESSAGES[code].msgType !== 0 && !sources.includes(`'${code}'`) && !sources.includes(`/${code}/`));
    assert.deepEqual(untested, [], 'codes no test asserts');
  });

  it('templates are filled from params; a missing param stays visible; the position goes before the period', () => {
    assert.equal(formatMessage('NOT_FOUND', { element: 'WEBAPI', id: 3 }), 'There is no WEBAPI 3.');
    assert.equal(formatMessage('NOT_FOUND', { element: 'WEBAPI' }), 'There is no WEBAPI {id}.');
    assert.equal(describeFailure({ code: 'UNKNOWN_VERB', params: { name: 'X' }, line: 2, column: 4 }).slice(0, 40), '<X> is not a command; use CREATE, GET, S');
    assert.match(describeFailure({ code: 'UNKNOWN_FIELD', params: { element: 'WEBAPI', name: 'X' }, line: 2, column: 4 }), /X \(line 2, column 4\)\.$/);
  });
});
