// sdk/backoff.ts: exponential backoff with jitter for reconnects (docs/protocol.md: "0.5 s
// doubling to 30 s"). "Equal jitter": the n-th delay is uniformly random in [d/2, d] where
// d = min(max, base * 2^n), so a crowd of clients dropped at once spreads out, yet each
// client's wait still grows. `random` is injectable so tests are deterministic.

export interface BackoffOptions {
  baseMs?: number;   // first delay ceiling; default 500
  maxMs?: number;    // delay ceiling; default 30000
  random?: () => number;
}

export class Backoff {
  private attempt = 0;
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly random: () => number;

  constructor(opts: BackoffOptions = {}) {
    this.baseMs = opts.baseMs ?? 500;
    this.maxMs = opts.maxMs ?? 30000;
    this.random = opts.random ?? Math.random;
  }

  /** The delay before the next attempt; each call counts as one more failed attempt. */
  next(): number {
    const ceiling = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.round(ceiling / 2 + this.random() * (ceiling / 2));
  }

  /** At least this long, e.g. a server's retry_after_ms. */
  nextAtLeast(minMs: number): number { return Math.max(minMs, this.next()); }

  reset(): void { this.attempt = 0; }
  get attempts(): number { return this.attempt; }
}
