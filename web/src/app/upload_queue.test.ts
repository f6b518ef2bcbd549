import { describe, expect, it } from 'vitest';
import { ParleyError, type Attachment, type UploadProgress, type UploadTask } from '../sdk';
import { formatBytes, kMaxFiles, UploadQueue, UploadQueues, uploadErrorText } from './upload_queue';

// A fake uploader: each call is a controllable upload.
function fakeUploads() {
  const calls: Array<{ file: File; progress: (p: UploadProgress) => void; resolve: (a: Attachment) => void;
                       reject: (e: unknown) => void; aborted: boolean }> = [];
  const upload = (file: File, progress: (p: UploadProgress) => void): UploadTask => {
    let resolve!: (a: Attachment) => void;
    let reject!: (e: unknown) => void;
    const done = new Promise<Attachment>((res, rej) => { resolve = res; reject = rej; });
    const call = { file, progress, resolve, reject, aborted: false };
    calls.push(call);
    return { done, abort: () => { call.aborted = true; reject(new ParleyError('aborted', 'cancelled')); } };
  };
  const revoked: string[] = [];
  const deps = { upload, createObjectUrl: (f: File) => `blob:${f.name}`, revokeObjectUrl: (u: string) => { revoked.push(u); } };
  return { calls, deps, revoked };
}

const att = (id: string): Attachment => ({ id, name: id, mime: 'image/png', kind: 'image', size: 3, sha256: '', width: 1,
                                           height: 1, url: `/a/${id}`, thumbnail_url: null, preview_url: null });
const file = (name: string, bytes = 3, type = 'image/png') => new File([new Uint8Array(bytes)], name, { type });
const settle = () => new Promise((r) => setTimeout(r, 0));

describe('UploadQueue', () => {
  it('uploads two at a time, tracks progress and is ready once every file is uploaded', async () => {
    const { calls, deps } = fakeUploads();
    const q = new UploadQueue(deps);
    expect(q.add([file('a.png'), file('b.pdf', 5, 'application/pdf'), file('c.png')])).toBeNull();
    expect(calls.map((c) => c.file.name)).toEqual(['a.png', 'b.pdf']);   // c waits its turn
    expect(q.items().map((i) => i.state)).toEqual(['uploading', 'uploading', 'queued']);
    expect(q.items().map((i) => i.localUrl)).toEqual(['blob:a.png', null, 'blob:c.png']); // images only
    expect(q.busy).toBe(true);
    expect(q.ready).toBe(false);

    calls[0].progress({ loaded: 2, total: 3 });
    expect(q.items()[0].loaded).toBe(2);
    calls[0].resolve(att('A'));
    await settle();
    expect(calls.map((c) => c.file.name)).toEqual(['a.png', 'b.pdf', 'c.png']); // a slot freed
    calls[1].resolve(att('B'));
    calls[2].resolve(att('C'));
    await settle();
    expect(q.ready).toBe(true);
    expect(q.busy).toBe(false);
    expect(q.take().map((a) => a.id)).toEqual(['A', 'B', 'C']);           // in the order added
    expect(q.size).toBe(0);
  });

  it('removing a file cancels its upload, frees its local URL and ignores its late result', async () => {
    const { calls, deps, revoked } = fakeUploads();
    const q = new UploadQueue(deps);
    q.add([file('big.png'), file('small.png')]);
    const key = q.items()[0].key;
    q.remove(key);
    expect(calls[0].aborted).toBe(true);
    expect(revoked).toEqual(['blob:big.png']);
    await settle();
    expect(q.items().map((i) => [i.name, i.state])).toEqual([['small.png', 'uploading']]);
  });

  it('a refused file fails with its reason, blocks sending until removed, and can be retried', async () => {
    const { calls, deps } = fakeUploads();
    const q = new UploadQueue(deps);
    q.add([file('page.png')]);
    calls[0].reject(new ParleyError('unsupported_type', 'file type text/html is not allowed', { status: 415 }));
    await settle();
    const [item] = q.items();
    expect(item.state).toBe('failed');
    expect(uploadErrorText(item.error)).toBe('This type of file can’t be shared.');
    expect(q.ready).toBe(false);
    expect(() => q.take()).toThrow();
    q.retry(item.key);
    expect(calls).toHaveLength(2);
    calls[1].resolve(att('P'));
    await settle();
    expect(q.ready).toBe(true);
  });

  it(`refuses empty files and more than ${kMaxFiles} per message, saying so`, () => {
    const { calls, deps } = fakeUploads();
    const q = new UploadQueue(deps);
    const many = Array.from({ length: kMaxFiles + 2 }, (_, i) => file(`f${i}.png`));
    expect(q.add([file('empty.txt', 0, 'text/plain'), ...many]))
      .toBe(`“empty.txt” is empty. At most ${kMaxFiles} files per message: 2 not added.`);
    expect(q.size).toBe(kMaxFiles);
    expect(calls).toHaveLength(2);
  });

  it('putBack returns the attachments of a failed send, first and ready to send again', async () => {
    const { calls, deps } = fakeUploads();
    const q = new UploadQueue(deps);
    q.add([file('later.png')]);
    calls[0].resolve(att('L'));
    await settle();
    q.putBack([att('A'), att('B')]);
    expect(q.items().map((i) => [i.name, i.state])).toEqual([['A', 'done'], ['B', 'done'], ['later.png', 'done']]);
    expect(q.ready).toBe(true);
    expect(q.take().map((a) => a.id)).toEqual(['A', 'B', 'L']);
  });

  it('clear cancels every upload', () => {
    const { calls, deps } = fakeUploads();
    const q = new UploadQueue(deps);
    q.add([file('a.png'), file('b.png')]);
    q.clear();
    expect(calls.every((c) => c.aborted)).toBe(true);
    expect(q.size).toBe(0);
  });
});

describe('UploadQueues', () => {
  it('keeps one queue per room, kept while another room is used (a component may hold it)', () => {
    const { deps } = fakeUploads();
    const qs = new UploadQueues(deps);
    const a = qs.for('r1');
    qs.for('thread:m1');
    expect(qs.for('r1')).toBe(a);        // even empty
    a.add([file('x.png')]);
    expect(qs.for('r1').size).toBe(1);
    qs.clear();
    expect(a.size).toBe(0);
  });
});

describe('formatBytes', () => {
  it('uses decimal units with one decimal below 100', () => {
    expect([0, 999, 1000, 1234, 48213, 999_499, 999_600, 1_500_000, 104_857_600, 2e9].map(formatBytes))
      .toEqual(['0 B', '999 B', '1 kB', '1.2 kB', '48.2 kB', '999 kB', '1 MB', '1.5 MB', '105 MB', '2 GB']);
  });
});
