import { describe, expect, it } from 'vitest';
import { ParleyError } from './errors';
import { Outbox, newTxnId } from './outbox';

describe('Outbox', () => {
  it('keeps sends in order, one in flight per room, each handed out once until the connection drops', () => {
    const o = new Outbox();
    const a = o.add('r', 'one', null);
    const b = o.add('r', 'two', 'm1');
    const c = o.add('other', 'elsewhere', null);
    expect(o.takeQueued().map((e) => e.body)).toEqual(['one', 'elsewhere']);
    expect(o.takeQueued()).toEqual([]);             // 'two' waits for 'one'
    o.resolve(a.client_txn_id);                     // acked
    o.resolve(c.client_txn_id);
    expect(o.takeQueued().map((e) => e.body)).toEqual(['two']);
    o.requeueSending();                             // the socket dropped before b's ack
    const again = o.takeQueued();
    expect(again.map((e) => e.client_txn_id)).toEqual([b.client_txn_id]); // same idempotency key
    expect(again[0].attempts).toBe(2);
  });

  it('marks permanent failures and retries them on request', () => {
    const o = new Outbox();
    const e = o.add('r', 'x', null);
    o.takeQueued();
    o.fail(e.client_txn_id, new ParleyError('too_large', 'too big'));
    expect(o.get(e.client_txn_id)?.state).toBe('failed');
    o.requeueSending();
    expect(o.takeQueued()).toEqual([]);             // failed ones are not resent by themselves
    o.retry(e.client_txn_id);
    expect(o.takeQueued()).toHaveLength(1);
  });

  it('is bounded', () => {
    const o = new Outbox(2);
    o.add('r', 'a', null);
    o.add('r', 'b', null);
    expect(() => o.add('r', 'c', null)).toThrowError(ParleyError);
    try { o.add('r', 'c', null); } catch (e) { expect((e as ParleyError).code).toBe('queue_full'); }
  });

  it('generates distinct valid transaction ids', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newTxnId()));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9]{1,64}$/);
  });
});
