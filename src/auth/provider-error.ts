/**
 * @module auth/provider-error
 * What nori keeps of a provider's answer when a flow step fails: the step, the HTTP status, the OAuth error
 * code and description. Never the request, its tokens or its secrets.
 */

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
