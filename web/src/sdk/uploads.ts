// sdk/uploads.ts: one file upload (POST /api/v1/uploads?name=, docs/protocol.md "Attachments")
// with progress and cancel. Used through RestClient.upload().
//
// XMLHttpRequest, not fetch: XHR's `upload.onprogress` reports the bytes the browser has handed
// to the network, which is what a progress bar must show; fetch has no upload progress (a
// streamed request body needs HTTP/2 and duplex streams, and still reports only what was read
// from the stream, not what was sent). The body is the Blob itself, so the browser streams it
// from disk; nothing is read into memory here.
//
// Threading: single-threaded (browser main thread); callbacks run on it.
import { ParleyError, problemError } from './errors';
import type { Attachment } from './types';

/** The part of XMLHttpRequest used here (tests inject a fake). */
export interface XhrLike {
  open(method: string, url: string): void;
  setRequestHeader(name: string, value: string): void;
  getResponseHeader(name: string): string | null;
  send(body: Blob): void;
  abort(): void;
  readonly status: number;
  readonly statusText: string;
  readonly responseText: string;
  upload: { onprogress: ((e: { loaded: number; total: number; lengthComputable: boolean }) => void) | null };
  onload: (() => void) | null;
  onerror: (() => void) | null;
  onabort: (() => void) | null;
  ontimeout: (() => void) | null;
}

export interface UploadProgress {
  /** Bytes sent so far. */
  loaded: number;
  /** The file's size. */
  total: number;
}

export interface UploadOptions {
  /** The file name the server records (sanitised there); default: the File's name, or "file". */
  name?: string;
  onProgress?: (p: UploadProgress) => void;
  /** Aborting it cancels the upload, like UploadTask.abort(). */
  signal?: AbortSignal;
}

export interface UploadTask {
  /** The unsent attachment; rejects with a ParleyError (code `aborted` when cancelled). */
  readonly done: Promise<Attachment>;
  /** Cancels the upload; the server keeps nothing of a request cut short. No-op once settled. */
  abort(): void;
}

export function startUpload(xhr: XhrLike, base: string, token: string | null, file: Blob,
                            opts: UploadOptions = {}): UploadTask {
  const name = opts.name ?? ((file as File).name || 'file');
  const total = file.size;
  let settled = false;
  let abort = () => {};
  const done = new Promise<Attachment>((resolve, reject) => {
    const fail = (e: ParleyError) => { if (!settled) { settled = true; reject(e); } };
    abort = () => {
      if (settled) return;
      fail(new ParleyError('aborted', 'upload cancelled'));
      xhr.abort();
    };
    if (opts.signal?.aborted) { abort(); return; }
    opts.signal?.addEventListener('abort', () => abort(), { once: true });

    xhr.open('POST', `${base}/uploads?name=${encodeURIComponent(name)}`);
    xhr.setRequestHeader('Accept', 'application/json');
    // The server types the file from its content; the header is informational.
    xhr.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
    if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    xhr.upload.onprogress = (e) => {
      if (!settled) opts.onProgress?.({ loaded: Math.min(e.loaded, total), total });
    };
    xhr.onload = () => {
      if (settled) return;
      let json: Record<string, unknown> | null = null;
      try { json = xhr.responseText ? JSON.parse(xhr.responseText) as Record<string, unknown> : null; } catch { json = null; }
      if (xhr.status === 201 && json && typeof json.attachment === 'object' && json.attachment) {
        settled = true;
        opts.onProgress?.({ loaded: total, total });
        resolve(json.attachment as Attachment);
        return;
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        fail(new ParleyError('internal', 'the server answered the upload without an attachment', { status: xhr.status }));
        return;
      }
      fail(problemError(xhr.status, xhr.statusText, json, (h) => xhr.getResponseHeader(h)));
    };
    xhr.onerror = () => fail(new ParleyError('network', 'the upload was interrupted (network error)'));
    xhr.ontimeout = () => fail(new ParleyError('network', 'the upload timed out'));
    xhr.onabort = () => fail(new ParleyError('aborted', 'upload cancelled'));
    xhr.send(file);
  });
  return { done, abort: () => abort() };
}
