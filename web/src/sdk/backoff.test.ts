import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff';

describe('Backoff', () => {
  it('doubles from 0.5 s up to 30 s, with jitter within [d/2, d]', () => {
    const lo = new Backoff({ random: () => 0 });
    const hi = new Backoff({ random: () => 0.999999 });
    const los = Array.from({ length: 10 }, () => lo.next());
    const his = Array.from({ length: 10 }, () => hi.next());
    expect(los.slice(0, 4)).toEqual([250, 500, 1000, 2000]);
    expect(his.slice(0, 4)).toEqual([500, 1000, 2000, 4000]);
    expect(Math.max(...his)).toBe(30000);
    expect(los[9]).toBe(15000);
  });

  it('spreads clients that failed at the same moment', () => {
    let x = 0.1;
    const a = new Backoff({ random: () => (x = (x * 7.3) % 1) });
    const b = new Backoff({ random: () => 0.5 });
    a.next(); b.next(); a.next(); b.next();
    expect(a.next()).not.toBe(b.next());
  });

  it('starts over after reset and honours a minimum (retry_after_ms)', () => {
    const b = new Backoff({ random: () => 0 });
    for (let i = 0; i < 8; i++) b.next();
    b.reset();
    expect(b.next()).toBe(250);
    expect(b.nextAtLeast(5000)).toBe(5000);
    expect(b.attempts).toBe(2);
  });
});
