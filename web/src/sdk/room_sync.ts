// sdk/room_sync.ts: RoomSync, the per-room seq bookkeeping that makes delivery exactly-once
// and in order on the client.
//
// For every room it remembers the highest seq applied. An incoming durable event is
//  - applied when its seq is the next one,
//  - dropped when it is at or below the cursor (a replay overlap or a duplicate),
//  - a gap otherwise: the room is "repairing" — the missing events are fetched (REST
//    /rooms/{id}/events?after_seq=), applied in order, then the events that arrived meanwhile
//    (buffered, bounded) are applied. If the gap cannot be closed, `onReset` asks the app to
//    refetch the room from scratch, like a server `room.reset`.
// `resumeState()` is what the gateway sends in `identify.resume.rooms`.
//
// Threading: single-threaded (browser main thread); `receive` may be called while a repair's
// fetch is in flight, which is why events are buffered per room.
import type { Id, RoomEvent } from './types';

export interface RoomSyncOptions {
  fetchAfter: (room: Id, afterSeq: number) => Promise<RoomEvent[]>;
  apply: (ev: RoomEvent) => void;
  onReset: (room: Id, lastSeq: number) => void;
  maxBuffered?: number;  // per repairing room; past it the room is reset instead. Default 1000.
}

export interface RoomSyncStats {
  applied: number;
  duplicates: number;
  gaps: number;
  resets: number;
}

export class RoomSync {
  private seqs = new Map<Id, number>();
  private repairing = new Map<Id, RoomEvent[]>();
  readonly stats: RoomSyncStats = { applied: 0, duplicates: 0, gaps: 0, resets: 0 };
  private readonly maxBuffered: number;

  constructor(private readonly opts: RoomSyncOptions) {
    this.maxBuffered = opts.maxBuffered ?? 1000;
  }

  /** Sets a room's cursor (from a snapshot, room.joined or room.reset). */
  set(room: Id, seq: number): void {
    this.seqs.set(room, seq);
    this.repairing.delete(room);
  }
  get(room: Id): number | undefined { return this.seqs.get(room); }
  has(room: Id): boolean { return this.seqs.has(room); }
  forget(room: Id): void { this.seqs.delete(room); this.repairing.delete(room); }
  rooms(): Id[] { return [...this.seqs.keys()]; }

  /** `{room: seq}` for identify.resume. */
  resumeState(): Record<Id, number> {
    return Object.fromEntries(this.seqs);
  }

  isRepairing(room: Id): boolean { return this.repairing.has(room); }

  /** Offers one durable event; returns what happened to it. */
  receive(ev: RoomEvent): 'applied' | 'duplicate' | 'buffered' {
    const buffer = this.repairing.get(ev.room_id);
    if (buffer) {
      if (buffer.length >= this.maxBuffered) {
        this.reset(ev.room_id, Math.max(ev.seq, ...buffer.map((e) => e.seq)));
        return 'buffered';
      }
      buffer.push(ev);
      return 'buffered';
    }
    const cur = this.seqs.get(ev.room_id);
    if (cur === undefined || ev.seq === cur + 1) {
      this.applyOne(ev);
      return 'applied';
    }
    if (ev.seq <= cur) {
      this.stats.duplicates++;
      return 'duplicate';
    }
    this.stats.gaps++;
    this.repairing.set(ev.room_id, [ev]);
    void this.repair(ev.room_id);
    return 'buffered';
  }

  private applyOne(ev: RoomEvent): void {
    this.seqs.set(ev.room_id, ev.seq);
    this.stats.applied++;
    this.opts.apply(ev);
  }

  private reset(room: Id, lastSeq: number): void {
    this.stats.resets++;
    this.set(room, lastSeq);
    this.opts.onReset(room, lastSeq);
  }

  private async repair(room: Id): Promise<void> {
    let fetched: RoomEvent[] = [];
    let failed = false;
    try {
      fetched = await this.opts.fetchAfter(room, this.seqs.get(room) ?? 0);
    } catch {
      failed = true;
    }
    const buffer = this.repairing.get(room);
    if (!buffer) return; // the room was reset or forgotten meanwhile
    this.repairing.delete(room);
    const pending = [...fetched, ...buffer].sort((a, b) => a.seq - b.seq);
    for (const ev of pending) {
      const cur = this.seqs.get(room) ?? 0;
      if (ev.seq <= cur) continue;            // overlap between the fetch and the buffer
      if (ev.seq !== cur + 1) {               // still a hole: give up and refetch the room
        this.reset(room, Math.max(...pending.map((e) => e.seq)));
        return;
      }
      this.applyOne(ev);
    }
    if (failed && pending.length === 0) this.reset(room, this.seqs.get(room) ?? 0);
  }
}
