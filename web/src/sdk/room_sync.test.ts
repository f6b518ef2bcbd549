import { describe, expect, it } from 'vitest';
import { RoomSync } from './room_sync';
import type { RoomEvent } from './types';

function ev(room: string, seq: number): RoomEvent {
  return { type: 'message.created', room_id: room, seq, actor_id: 'u1', created_at: 0,
           message: { id: `m${seq}`, room_id: room, seq, sender_id: 'u1', client_txn_id: null, body: `b${seq}`,
                      reply_to: null, created_at: 0, edited_at: null, deleted_at: null } };
}

function setup(fetchAfter: (room: string, after: number) => Promise<RoomEvent[]> = async () => []) {
  const applied: number[] = [];
  const resets: Array<[string, number]> = [];
  const sync = new RoomSync({ fetchAfter, apply: (e) => applied.push(e.seq), onReset: (r, s) => resets.push([r, s]) });
  return { sync, applied, resets };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('RoomSync', () => {
  it('applies the next seq and drops replays at or below the cursor', () => {
    const { sync, applied } = setup();
    sync.set('r', 3);
    expect(sync.receive(ev('r', 4))).toBe('applied');
    expect(sync.receive(ev('r', 4))).toBe('duplicate');
    expect(sync.receive(ev('r', 2))).toBe('duplicate');
    expect(sync.receive(ev('r', 5))).toBe('applied');
    expect(applied).toEqual([4, 5]);
    expect(sync.resumeState()).toEqual({ r: 5 });
    expect(sync.stats.duplicates).toBe(2);
  });

  it('keeps one cursor per room for resume', () => {
    const { sync } = setup();
    sync.set('a', 1);
    sync.set('b', 10);
    sync.receive(ev('b', 11));
    sync.forget('a');
    expect(sync.resumeState()).toEqual({ b: 11 });
  });

  it('repairs a gap from the events endpoint, then applies what arrived meanwhile, once each', async () => {
    let release!: (v: RoomEvent[]) => void;
    const asked: number[] = [];
    const { sync, applied } = setup((_r, after) => {
      asked.push(after);
      return new Promise((res) => { release = res; });
    });
    sync.set('r', 1);
    expect(sync.receive(ev('r', 4))).toBe('buffered');   // 2 and 3 are missing
    expect(sync.receive(ev('r', 5))).toBe('buffered');
    expect(sync.isRepairing('r')).toBe(true);
    release([ev('r', 2), ev('r', 3), ev('r', 4)]);          // the fetch overlaps the buffer
    await tick();
    expect(asked).toEqual([1]);
    expect(applied).toEqual([2, 3, 4, 5]);
    expect(sync.get('r')).toBe(5);
    expect(sync.isRepairing('r')).toBe(false);
  });

  it('resets the room when the gap cannot be closed', async () => {
    const { sync, applied, resets } = setup(async () => [ev('r', 2)]); // 3 never comes
    sync.set('r', 1);
    sync.receive(ev('r', 4));
    await tick();
    expect(applied).toEqual([2]);
    expect(resets).toEqual([['r', 4]]);
    expect(sync.get('r')).toBe(4);
    expect(sync.receive(ev('r', 5))).toBe('applied');
  });

  it('bounds the buffer while repairing', async () => {
    const applied: number[] = [];
    const resets: number[] = [];
    const sync = new RoomSync({ fetchAfter: () => new Promise(() => {}), apply: (e) => applied.push(e.seq),
                                onReset: (_r, s) => resets.push(s), maxBuffered: 3 });
    sync.set('r', 0);
    for (let s = 2; s <= 5; s++) sync.receive(ev('r', s));
    expect(resets).toEqual([5]);
    expect(sync.receive(ev('r', 6))).toBe('applied');
    expect(applied).toEqual([6]);
  });
});
