// sdk/errors.ts: ParleyError, the one exception type the SDK throws. REST problem+json bodies
// and gateway `error` frames both become a ParleyError carrying the stable `code`, so callers
// switch on `err.code`, never on message text.
import type { ErrorCode } from './types';

export class ParleyError extends Error {
  readonly code: ErrorCode;
  readonly status: number;          // HTTP status; 0 for network and gateway errors
  readonly requestId: string | null;
  readonly retryAfterMs: number | null;

  constructor(code: ErrorCode, message: string,
              opts: { status?: number; requestId?: string | null; retryAfterMs?: number | null } = {}) {
    super(message);
    this.name = 'ParleyError';
    this.code = code;
    this.status = opts.status ?? 0;
    this.requestId = opts.requestId ?? null;
    this.retryAfterMs = opts.retryAfterMs ?? null;
  }

  /**
   * True when the server refused a file for what it is: too big (`too_large`), over the
   * uploader's storage quota (`quota_exceeded`) or of a type not allowed (`unsupported_type`).
   * Sending the same file again cannot succeed.
   */
  get fileRefused(): boolean {
    return this.code === 'too_large' || this.code === 'quota_exceeded' || this.code === 'unsupported_type';
  }

  /** True when retrying the same request later can succeed. */
  get retryable(): boolean {
    return this.code === 'network' || this.code === 'rate_limited' || this.code === 'unavailable';
  }
}

const kCodes: ReadonlySet<string> = new Set([
  'invalid_argument', 'invalid_json', 'unauthorized', 'forbidden', 'not_found', 'conflict',
  'too_large', 'quota_exceeded', 'unsupported_type', 'rate_limited', 'unavailable', 'internal', 'mention_not_allowed',
]);

export function codeFromStatus(status: number): ErrorCode {
  switch (status) {
    case 400: return 'invalid_argument';
    case 401: return 'unauthorized';
    case 403: return 'forbidden';
    case 404: return 'not_found';
    case 409: return 'conflict';
    case 413: return 'too_large';
    case 415: return 'unsupported_type';
    case 429: return 'rate_limited';
    case 503: return 'unavailable';
    default: return 'internal';
  }
}

/** Normalises a server-sent code: unknown codes fall back to what the HTTP status implies. */
export function toErrorCode(code: unknown, status: number): ErrorCode {
  return typeof code === 'string' && kCodes.has(code) ? (code as ErrorCode) : codeFromStatus(status);
}

/**
 * The ParleyError for a failed HTTP response: `json` is its problem+json body (or null),
 * `header` reads a response header.
 */
export function problemError(status: number, statusText: string, json: Record<string, unknown> | null,
                             header: (name: string) => string | null): ParleyError {
  const retryHeader = header('Retry-After');
  const retryAfterMs = typeof json?.retry_after_ms === 'number' ? json.retry_after_ms
    : retryHeader ? Number(retryHeader) * 1000 : null;
  return new ParleyError(toErrorCode(json?.code, status),
                         typeof json?.detail === 'string' ? json.detail : statusText || 'request failed',
                         { status,
                           requestId: (json?.request_id as string | undefined) ?? header('X-Request-Id'),
                           retryAfterMs });
}
