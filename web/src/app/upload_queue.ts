// app/upload_queue.ts: the files waiting in one room's composer. Each file is uploaded as soon
// as it is added (two at a time, the rest wait their turn), shows its progress, can be removed
// (which cancels its upload) or retried, and the message may be sent once every file is
// uploaded. Sending takes the uploaded attachments out of the queue.
//
// Bounded: at most kMaxFiles per message (the server's limit). UploadQueues keeps one queue per
// room or thread composer (files survive switching rooms, like the text draft); a queue is a
// few fields, so one per conversation visited is kept for the session rather than dropped
// while a component may still hold it.
//
// Threading: single-threaded (browser main thread). Pure logic over injected uploader and
// object-URL functions, so unit tests run it without a browser.
import { ParleyError, Observable, type Attachment, type Id, type UploadProgress, type UploadTask } from '../sdk';

/** The server accepts at most this many attachments per message (docs/protocol.md). */
export const kMaxFiles = 10;
/** Uploads in flight at once per room; more would only split the same bandwidth. */
export const kConcurrentUploads = 2;

export type UploadState = 'queued' | 'uploading' | 'done' | 'failed';

export interface UploadItem {
  readonly key: string;
  readonly name: string;
  readonly size: number;
  /** The browser's guess from the extension; the server decides from the content. */
  readonly type: string;
  /** A local object URL to show an image before (and while) it uploads; null for other files. */
  readonly localUrl: string | null;
  state: UploadState;
  loaded: number;
  attachment: Attachment | null;
  error: ParleyError | null;
}

export interface UploadDeps {
  upload: (file: File, onProgress: (p: UploadProgress) => void) => UploadTask;
  createObjectUrl?: (f: File) => string | null;
  revokeObjectUrl?: (url: string) => void;
}

interface Entry { item: UploadItem; file: File | null; task: UploadTask | null } // file: null when put back

let nextKey = 1;

export class UploadQueue {
  private entries: Entry[] = [];
  /** Bumped on every change (progress included), so views re-render. */
  readonly version = new Observable(0);

  constructor(private readonly deps: UploadDeps) {}

  items(): UploadItem[] { return this.entries.map((e) => e.item); }
  get size(): number { return this.entries.length; }
  /** Some file still uploading or waiting to. */
  get busy(): boolean { return this.entries.some((e) => e.item.state === 'queued' || e.item.state === 'uploading'); }
  /** Every file is uploaded (true for an empty queue). */
  get ready(): boolean { return this.entries.every((e) => e.item.state === 'done'); }

  /**
   * Adds files and starts uploading them. Returns a message for the person when some were not
   * added (over kMaxFiles, or an empty file), else null.
   */
  add(files: readonly File[]): string | null {
    const refused: string[] = [];
    let over = 0;
    for (const file of files) {
      if (file.size === 0) { refused.push(`“${file.name || 'file'}” is empty.`); continue; }
      if (this.entries.length >= kMaxFiles) { over++; continue; }
      const isImage = /^image\/(png|jpeg|gif|webp)$/.test(file.type);
      const item: UploadItem = {
        key: `u${nextKey++}`, name: file.name || 'file', size: file.size, type: file.type,
        localUrl: isImage ? this.deps.createObjectUrl?.(file) ?? null : null,
        state: 'queued', loaded: 0, attachment: null, error: null,
      };
      this.entries.push({ item, file, task: null });
    }
    if (over) refused.push(`At most ${kMaxFiles} files per message: ${over} not added.`);
    this.pump();
    this.changed();
    return refused.length ? refused.join(' ') : null;
  }

  /** Removes a file, cancelling its upload if it is under way. */
  remove(key: string): void {
    const i = this.entries.findIndex((e) => e.item.key === key);
    if (i < 0) return;
    const [e] = this.entries.splice(i, 1);
    e.task?.abort();
    this.release(e);
    this.pump();
    this.changed();
  }

  /** Uploads a failed file again. */
  retry(key: string): void {
    const e = this.entries.find((x) => x.item.key === key);
    if (!e || e.item.state !== 'failed') return;
    e.item.state = 'queued';
    e.item.error = null;
    e.item.loaded = 0;
    this.pump();
    this.changed();
  }

  /**
   * The uploaded attachments, in the order the files were added, leaving the queue empty.
   * REQUIRES: ready.
   */
  take(): Attachment[] {
    if (!this.ready) throw new Error('UploadQueue.take before every upload finished');
    const out = this.entries.map((e) => e.item.attachment!);
    for (const e of this.entries) this.release(e);
    this.entries = [];
    this.changed();
    return out;
  }

  /**
   * Puts uploaded attachments back, first, as finished files: a send that failed keeps them
   * for the next try.
   */
  putBack(attachments: readonly Attachment[]): void {
    const back: Entry[] = attachments.map((a) => ({
      file: null,
      task: null,
      item: { key: `u${nextKey++}`, name: a.name, size: a.size, type: a.mime, localUrl: null, state: 'done',
              loaded: a.size, attachment: a, error: null },
    }));
    this.entries = [...back, ...this.entries];
    this.changed();
  }

  /** Cancels everything (sign-out, leaving the room). */
  clear(): void {
    for (const e of this.entries) { e.task?.abort(); this.release(e); }
    this.entries = [];
    this.changed();
  }

  private pump(): void {
    let running = this.entries.filter((e) => e.item.state === 'uploading').length;
    for (const e of this.entries) {
      if (running >= kConcurrentUploads) break;
      if (e.item.state !== 'queued') continue;
      running++;
      this.start(e);
    }
  }

  private start(e: Entry): void {
    e.item.state = 'uploading';
    const task = this.deps.upload(e.file!, (p) => {
      if (e.task !== task) return;
      e.item.loaded = p.loaded;
      this.changed();
    });
    e.task = task;
    task.done.then((a) => {
      if (e.task !== task) return;
      e.task = null;
      e.item.state = 'done';
      e.item.loaded = e.item.size;
      e.item.attachment = a;
      this.pump();
      this.changed();
    }, (err: unknown) => {
      if (e.task !== task) return;            // removed (aborted) or restarted: not ours to report
      e.task = null;
      e.item.state = 'failed';
      e.item.error = err instanceof ParleyError ? err : new ParleyError('internal', String(err));
      this.pump();
      this.changed();
    });
  }

  private release(e: Entry): void {
    e.task = null;
    if (e.item.localUrl) this.deps.revokeObjectUrl?.(e.item.localUrl);
  }

  private changed(): void { this.version.set(this.version.value + 1); }
}

/** One UploadQueue per room (or thread composer), created on first use. */
export class UploadQueues {
  private readonly rooms = new Map<Id, UploadQueue>();
  constructor(private readonly deps: UploadDeps) {}

  for(room: Id): UploadQueue {
    let q = this.rooms.get(room);
    if (!q) {
      q = new UploadQueue(this.deps);
      this.rooms.set(room, q);
    }
    return q;
  }

  clear(): void {
    for (const q of this.rooms.values()) q.clear();
    this.rooms.clear();
  }
}

/** What to tell the person about a file the server or the network refused. */
export function uploadErrorText(e: ParleyError | null): string {
  switch (e?.code) {
    case 'too_large': return 'Too big to upload.';
    case 'quota_exceeded': return 'Your storage quota is full.';
    case 'unsupported_type': return 'This type of file can’t be shared.';
    case 'invalid_argument': return e.message ? `Refused: ${e.message}` : 'The server refused this file.';
    case 'unavailable': case 'rate_limited': return 'The server is busy. Try again.';
    case 'network': return 'Upload interrupted. Check your connection.';
    case 'unauthorized': return 'Your session has ended. Sign in again.';
    default: return e?.message || 'Upload failed.';
  }
}

/** 1234567 → "1.2 MB" (decimal units, as file managers show them). */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = -1;
  do { v /= 1000; i++; } while (v >= 999.5 && i < units.length - 1);
  return `${v >= 100 ? Math.round(v) : v.toFixed(1).replace(/\.0$/, '')} ${units[i]}`;
}
