/**
 * @module auth/provider-error
 * What nori keeps of a provider's answer when a flow step fails: the step, the HTTP status, the OAuth error
 * code and description. Never the request, its tokens or its secrets.
 */
import type { HttpFailure } from '../call/http-client.js';

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
  readonly error: string;
  readonly description: string | undefined;

  constructor(step: string, info: { status?: number | undefined; error: string; description?: string | undefined; cause?: unknown }) {
    super(`${step} failed${info.status ? ` with HTTP ${info.status}` : ''}: ${info.error}${info.description ? ` (${info.description})` : ''}`, { cause: info.cause });
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

/** A request nori's HTTP client could not complete: refused target, timeout, no connection, too large. */
export function sendFailure(step: string, e: HttpFailure): ProviderError {
  if (e.kind === 'blocked') return new ProviderError(step, { error: 'blocked_target', description: e.reason, cause: e });
  return new ProviderError(step, { error: e.kind === 'timeout' ? 'timeout' : e.kind === 'too_large' ? 'too_large' : 'unreachable', cause: e });
}
