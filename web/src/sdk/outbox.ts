// sdk/outbox.ts: Outbox, the queue of messages the user has sent that the server has not yet
// acknowledged. It backs optimistic sending (the app shows pending entries in the conversation)
// and offline sending (entries written while disconnected wait here and are flushed, in order,
// when the gateway is ready again, one at a time per room so that they keep their order).
//
// Each entry has a random client_txn_id, the server's idempotency key, so resending an entry
// whose ack was lost never stores a second copy. An entry leaves the outbox when its ack, or
// the message.created event echoing its client_txn_id, arrives. Bounded: `add` throws
// ParleyError('queue_full') past `capacity` entries.
//
// Threading: single-threaded (browser main thread).
import { ParleyError } from './errors';
import { Observable } from './observable';
import type { Attachment, Id } from './types';

export type PendingState = 'queued' | 'sending' | 'failed';

export interface PendingSend {
  readonly client_txn_id: string;
  readonly room_id: Id;
  readonly body: string;
  readonly reply_to: Id | null;
  /** Uploaded, unsent files the message carries (their ids go on the wire). */
  readonly attachments: readonly Attachment[];
  readonly created_at: number;
  state: PendingState;
  attempts: number;
  error: ParleyError | null;
  notBefore: number;          // not resent before this time (ms), after a rate limit
}

export function newTxnId(random: () => number = Math.random): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = new Uint8Array(20);
  if (random === Math.random && typeof crypto !== 'undefined' && crypto.getRandomValues) {
    crypto.getRandomValues(bytes);
  } else {
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
  }
  let s = 'w';
  for (const b of bytes) s += alphabet[b % alphabet.length];
  return s;
}

export class Outbox {
  private entries = new Map<string, PendingSend>(); // insertion order = send order
  /** Bumped on every change, so views can re-render. */
  readonly version = new Observable(0);

  constructor(private readonly capacity = 200, private readonly now: () => number = Date.now) {}

  add(room_id: Id, body: string, reply_to: Id | null, client_txn_id = newTxnId(),
      attachments: readonly Attachment[] = []): PendingSend {
    if (this.entries.size >= this.capacity) {
      throw new ParleyError('queue_full', `more than ${this.capacity} messages waiting to be sent`);
    }
    const e: PendingSend = { client_txn_id, room_id, body, reply_to, attachments, created_at: this.now(),
                             state: 'queued', attempts: 0, error: null, notBefore: 0 };
    this.entries.set(client_txn_id, e);
    this.changed();
    return e;
  }

  get(txn: string): PendingSend | undefined { return this.entries.get(txn); }
  get size(): number { return this.entries.size; }
  all(): PendingSend[] { return [...this.entries.values()]; }
  forRoom(room: Id): PendingSend[] { return this.all().filter((e) => e.room_id === room); }

  /**
   * Entries to put on the wire now; they become `sending`. One per room at a time, oldest
   * first: the server may commit concurrent sends of one connection in any order, and a
   * person's messages must appear in the order they were written. The next one goes out when
   * the previous one is resolved.
   */
  takeQueued(now = this.now()): PendingSend[] {
    const out: PendingSend[] = [];
    const busy = new Set<Id>();
    for (const e of this.entries.values()) if (e.state === 'sending') busy.add(e.room_id);
    for (const e of this.entries.values()) {
      if (e.state !== 'queued' || busy.has(e.room_id)) continue;
      busy.add(e.room_id);                  // also when waiting: later ones keep their place
      if (e.notBefore > now) continue;
      e.state = 'sending';
      e.attempts++;
      out.push(e);
    }
    if (out.length) this.changed();
    return out;
  }

  /** The connection dropped: whatever was on the wire unacknowledged goes back to the queue. */
  requeueSending(): void {
    let any = false;
    for (const e of this.entries.values()) {
      if (e.state === 'sending') { e.state = 'queued'; any = true; }
    }
    if (any) this.changed();
  }

  /** The server has the message (ack or its echo): the entry is done. */
  resolve(txn: string): boolean {
    const had = this.entries.delete(txn);
    if (had) this.changed();
    return had;
  }

  fail(txn: string, error: ParleyError): void {
    const e = this.entries.get(txn);
    if (!e) return;
    e.state = 'failed';
    e.error = error;
    this.changed();
  }

  /** Puts a failed (or rate-limited) entry back in the queue, to go out at `notBefore`. */
  retry(txn: string, notBefore = 0): void {
    const e = this.entries.get(txn);
    if (!e || (e.state === 'queued' && e.notBefore <= notBefore)) return;
    e.state = 'queued';
    e.error = null;
    e.notBefore = notBefore;
    this.changed();
  }

  discard(txn: string): void { this.resolve(txn); }

  private changed(): void { this.version.set(this.version.value + 1); }
}
