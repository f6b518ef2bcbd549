import { describe, expect, it } from 'vitest';
import { ParleyError } from './errors';
import { RestClient } from './rest';
import type { Attachment } from './types';
import type { XhrLike } from './uploads';

// A fake XMLHttpRequest driven by the test: it records what was sent and lets the test emit
// progress, a response, a network error.
class FakeXhr implements XhrLike {
  method = '';
  url = '';
  headers: Record<string, string> = {};
  body: Blob | null = null;
  aborted = false;
  status = 0;
  statusText = '';
  responseText = '';
  private responseHeaders: Record<string, string> = {};
  upload: XhrLike['upload'] = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onabort: (() => void) | null = null;
  ontimeout: (() => void) | null = null;

  open(method: string, url: string) { this.method = method; this.url = url; }
  setRequestHeader(n: string, v: string) { this.headers[n] = v; }
  getResponseHeader(n: string) { return this.responseHeaders[n.toLowerCase()] ?? null; }
  send(body: Blob) { this.body = body; }
  abort() { this.aborted = true; this.onabort?.(); }

  progress(loaded: number, total: number) { this.upload.onprogress?.({ loaded, total, lengthComputable: true }); }
  respond(status: number, body: unknown, headers: Record<string, string> = {}) {
    this.status = status;
    this.responseText = body === undefined ? '' : JSON.stringify(body);
    for (const [k, v] of Object.entries(headers)) this.responseHeaders[k.toLowerCase()] = v;
    this.onload?.();
  }
}

const kAttachment: Attachment = {
  id: '77', name: 'cat photo.png', mime: 'image/png', kind: 'image', size: 10, sha256: 'ab', width: 4, height: 3,
  url: '/api/v1/attachments/77', thumbnail_url: '/api/v1/attachments/77/thumbnail',
  preview_url: '/api/v1/attachments/77/preview',
};

function client(token: string | null = null) {
  const xhrs: FakeXhr[] = [];
  const rest = new RestClient({ token, xhr: () => { const x = new FakeXhr(); xhrs.push(x); return x; } });
  return { rest, xhrs };
}

const file = (bytes: number, name = 'cat photo.png', type = 'image/png') =>
  new File([new Uint8Array(bytes)], name, { type });

describe('RestClient.upload', () => {
  it('posts the raw file with its encoded name and reports the bytes sent until the attachment arrives', async () => {
    const { rest, xhrs } = client('tok');
    const seen: Array<[number, number]> = [];
    const f = file(10);
    const task = rest.upload(f, { onProgress: (p) => seen.push([p.loaded, p.total]) });
    const x = xhrs[0];
    expect(x.method).toBe('POST');
    expect(x.url).toBe('/api/v1/uploads?name=cat%20photo.png');
    expect(x.body).toBe(f);                          // the Blob itself: streamed, not copied
    expect(x.headers['Content-Type']).toBe('image/png');
    expect(x.headers.Authorization).toBe('Bearer tok');
    x.progress(4, 10);
    x.progress(10, 10);
    x.respond(201, { attachment: kAttachment });
    await expect(task.done).resolves.toEqual(kAttachment);
    expect(seen).toEqual([[4, 10], [10, 10], [10, 10]]);
  });

  it('uses the given name and sends no Authorization header without a token (cookie session)', async () => {
    const { rest, xhrs } = client();
    const task = rest.upload(new Blob(['x']), { name: '../ünïcode?.txt' });
    expect(xhrs[0].url).toBe(`/api/v1/uploads?name=${encodeURIComponent('../ünïcode?.txt')}`);
    expect(xhrs[0].headers.Authorization).toBeUndefined();
    expect(xhrs[0].headers['Content-Type']).toBe('application/octet-stream');
    xhrs[0].respond(201, { attachment: kAttachment });
    await task.done;
  });

  it('types the refusals: 413 too_large, 413 quota_exceeded, 415 unsupported_type', async () => {
    const cases: Array<[number, unknown, string]> = [
      [413, { code: 'too_large', detail: 'request body over 100 bytes', request_id: 'r1' }, 'too_large'],
      [413, { code: 'quota_exceeded', detail: 'storage quota exceeded' }, 'quota_exceeded'],
      [415, { code: 'unsupported_type', detail: 'file type text/html (detected from the content) is not allowed' }, 'unsupported_type'],
      [415, undefined, 'unsupported_type'],                 // no body: the status decides
      [413, undefined, 'too_large'],
    ];
    for (const [status, body, code] of cases) {
      const { rest, xhrs } = client();
      const task = rest.upload(file(3));
      xhrs[0].respond(status, body, { 'X-Request-Id': 'hdr' });
      const err = await task.done.catch((e) => e);
      expect(err).toBeInstanceOf(ParleyError);
      expect(err.code).toBe(code);
      expect(err.status).toBe(status);
      expect(err.fileRefused).toBe(true);
      expect(err.retryable).toBe(false);
      if (body) expect(err.message).toBe((body as { detail: string }).detail);
    }
  });

  it('keeps the retry hint of 503 unavailable and reports network failures as retryable', async () => {
    const { rest, xhrs } = client();
    const busy = rest.upload(file(3));
    xhrs[0].respond(503, { code: 'unavailable', detail: 'busy', retry_after_ms: 1000 });
    const e1 = await busy.done.catch((e) => e);
    expect([e1.code, e1.retryAfterMs, e1.retryable, e1.fileRefused]).toEqual(['unavailable', 1000, true, false]);

    const dropped = rest.upload(file(3));
    xhrs[1].onerror?.();
    const e2 = await dropped.done.catch((e) => e);
    expect([e2.code, e2.retryable]).toEqual(['network', true]);
  });

  it('cancels: abort() and an AbortSignal stop the request and reject with aborted; no progress after', async () => {
    const { rest, xhrs } = client();
    const seen: number[] = [];
    const task = rest.upload(file(100), { onProgress: (p) => seen.push(p.loaded) });
    xhrs[0].progress(30, 100);
    task.abort();
    expect(xhrs[0].aborted).toBe(true);
    xhrs[0].progress(60, 100);                       // late events are ignored
    const err = await task.done.catch((e) => e);
    expect(err.code).toBe('aborted');
    expect(seen).toEqual([30]);
    task.abort();                                    // a second abort is a no-op

    const ctl = new AbortController();
    const t2 = rest.upload(file(100), { signal: ctl.signal });
    ctl.abort();
    expect(xhrs[1].aborted).toBe(true);
    expect((await t2.done.catch((e) => e)).code).toBe('aborted');

    const pre = new AbortController();
    pre.abort();
    const t3 = rest.upload(file(1), { signal: pre.signal });
    expect((await t3.done.catch((e) => e)).code).toBe('aborted');
    expect(xhrs[2].body).toBeNull();                 // never sent
  });

  it('abort after the attachment arrived changes nothing', async () => {
    const { rest, xhrs } = client();
    const task = rest.upload(file(2));
    xhrs[0].respond(201, { attachment: kAttachment });
    task.abort();
    expect(xhrs[0].aborted).toBe(false);
    await expect(task.done).resolves.toEqual(kAttachment);
  });

  it('refuses a 2xx answer that carries no attachment', async () => {
    const { rest, xhrs } = client();
    const task = rest.upload(file(2));
    xhrs[0].respond(200, { something: 1 });
    expect((await task.done.catch((e) => e)).code).toBe('internal');
  });
});
