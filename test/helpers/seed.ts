/**
 * Small builders for test batches.
 */
import assert from 'node:assert/strict';
import type { Engine } from '../../src/engine.js';
import type { Principal } from '../../src/principal.js';
import { ADMIN } from './engine.js';
import { only, q } from './xml.js';

export function webapiXml(name: string, extra = '', authType = 'oauth2'): string {
  return `<CREATE><WEBAPI><INFO><DENOMINATION>${name}</DENOMINATION><AUTH_TYPE>${authType}</AUTH_TYPE>${extra}</INFO></WEBAPI></CREATE>`;
}

export function accountXml(api: string, extra = ''): string {
  return `<CREATE><WEBACCOUNT><INFO><API>${api}</API>${extra}</INFO></WEBACCOUNT></CREATE>`;
}

/** Creates a WEBAPI as admin; returns its ID. */
export async function seedApi(engine: Engine, name = 'twitter', extra = '', authType = 'oauth2'): Promise<number> {
  const r = only(await engine.execute(q(webapiXml(name, extra, authType)), ADMIN));
  assert.equal(r.attrs.msgType, '0', r.text);
  return Number(r.attrs.elementID);
}

/** Creates a WEBACCOUNT as `who`; returns its ID. */
export async function seedAccount(engine: Engine, who: Principal, api = 'twitter', extra = ''): Promise<number> {
  const r = only(await engine.execute(q(accountXml(api, extra)), who));
  assert.equal(r.attrs.msgType, '0', r.text);
  return Number(r.attrs.elementID);
}
