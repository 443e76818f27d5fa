/**
 * @module auth/provider-error
 * What nori keeps of a provider's answer when a flow step fails: the step, the HTTP status, the OAuth error
 * code and description, scrubbed of the exchange's secrets (src/scrub.ts). Never the request, its tokens or its
 * secrets, even when the provider echoes them.
 */
import type { HttpFailure } from '../call/http-client.js';
import { safe, type Scrubbed, type Scrubber } from '../scrub.js';

export interface TokenSet {
  readonly accessToken: string;
  readonly refreshToken?: string | undefined;
  /** OAuth 1.0a token secret. */
  readonly tokenSecret?: string | undefined;
  readonly expiresAt?: Date | undefined;
  readonly scope?: string | undefined;
}

export class ProviderError extends Error {
  override name = 'ProviderError';
  readonly step: string;
  readonly status: number | undefined;
  /** The provider's error code (`invalid_grant`, `access_denied`…), or `timeout` / `unreachable`. */
  readonly error: Scrubbed;
  readonly description: Scrubbed | undefined;
  /** The message, for a stored reason or a log line: built of scrubbed parts only. */
  readonly reason: Scrubbed;

  constructor(step: 'configuration' | 'callback' | 'token exchange' | 'refresh' | 'revocation' | 'request token' | 'access token', info: { status?: number | undefined; error: Scrubbed; description?: Scrubbed | undefined; cause?: unknown }) {
    const reason = safe`${step as Scrubbed} failed${info.status ? safe` with HTTP ${info.status}` : safe``}: ${info.error}${info.description ? safe` (${info.description})` : safe``}`;
    super(reason, { cause: info.cause });
    this.reason = reason;
    this.step = step;
    this.status = info.status;
    this.error = info.error;
    this.description = info.description;
  }

  /** The grant itself is dead (RFC 6749 §5.2): the user must authorize again. */
  get isGrantRejected(): boolean {
    return this.error === 'invalid_grant';
  }
}

export type FlowStep = ConstructorParameters<typeof ProviderError>[0];

/** A request nori's HTTP client could not complete: refused target, timeout, no connection, too large. */
export function sendFailure(step: FlowStep, e: HttpFailure, scrubber: Scrubber): ProviderError {
  if (e.kind === 'blocked') return new ProviderError(step, { error: safe`blocked_target`, description: scrubber.scrub(e.reason), cause: e });
  return new ProviderError(step, { error: e.kind === 'timeout' ? safe`timeout` : e.kind === 'too_large' ? safe`too_large` : safe`unreachable`, cause: e });
}
