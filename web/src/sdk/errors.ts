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

  /** True when retrying the same request later can succeed. */
  get retryable(): boolean {
    return this.code === 'network' || this.code === 'rate_limited' || this.code === 'unavailable';
  }
}

const kCodes: ReadonlySet<string> = new Set([
  'invalid_argument', 'invalid_json', 'unauthorized', 'forbidden', 'not_found', 'conflict',
  'too_large', 'rate_limited', 'unavailable', 'internal', 'mention_not_allowed',
]);

export function codeFromStatus(status: number): ErrorCode {
  switch (status) {
    case 400: return 'invalid_argument';
    case 401: return 'unauthorized';
    case 403: return 'forbidden';
    case 404: return 'not_found';
    case 409: return 'conflict';
    case 413: return 'too_large';
    case 429: return 'rate_limited';
    case 503: return 'unavailable';
    default: return 'internal';
  }
}

/** Normalises a server-sent code: unknown codes fall back to what the HTTP status implies. */
export function toErrorCode(code: unknown, status: number): ErrorCode {
  return typeof code === 'string' && kCodes.has(code) ? (code as ErrorCode) : codeFromStatus(status);
}
