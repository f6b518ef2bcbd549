// app/attachments.tsx: files in the browser.
//  - In the composer: the attach button, the chips of the files being uploaded (name, size,
//    progress, cancel/remove, errors), drop onto the conversation and paste of clipboard
//    images. Uploads start as soon as a file is added (upload_queue.ts); the message is sent
//    with the uploaded attachments.
//  - In messages: images as their thumbnail with the box sized from the stored dimensions
//    before anything loads (no layout jump); a click opens the lightbox (lightbox.tsx, a lazy
//    chunk); other files as a card with icon, name, size and a download link.
// Attachment URLs are same-origin and the server checks membership on every request.
import type { ComponentType, RefObject } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Attachment, Id } from '../sdk';
import './attachments.css';
import type { AppStore } from './store';
import { formatBytes, UploadQueue, UploadQueues, uploadErrorText, type UploadItem } from './upload_queue';

// --- composer side

// The signed-in user's queues: another user signing in on the same tab starts empty (the
// previous one's uploads are cancelled).
const queues = new WeakMap<AppStore, { user: Id | undefined; queues: UploadQueues }>();

function queuesOf(store: AppStore): UploadQueues {
  const user = store.me.value?.id;
  let q = queues.get(store);
  if (!q || q.user !== user) {
    q?.queues.clear();
    q = {
      user,
      queues: new UploadQueues({
        upload: (file, onProgress) => store.rest.upload(file, { onProgress }),
        createObjectUrl: (f) => URL.createObjectURL(f),
        revokeObjectUrl: (u) => URL.revokeObjectURL(u),
      }),
    };
    queues.set(store, q);
  }
  return q.queues;
}

/** The room's upload queue; the calling component re-renders on every change (progress too). */
export function useUploadQueue(store: AppStore, room: Id): UploadQueue {
  const q = queuesOf(store).for(room);
  const [, bump] = useState(0);
  useEffect(() => q.version.subscribe(() => bump((n) => n + 1)), [q]);
  return q;
}

const paperclip = (
  <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
    <path d="M20.5 11.5l-8.4 8.4a5 5 0 01-7.1-7.1l8.8-8.8a3.4 3.4 0 014.8 4.8l-8.6 8.6a1.8 1.8 0 01-2.5-2.5l7.9-7.9"
          fill="none" stroke="currentColor" stroke-width="1.9" stroke-linecap="round" stroke-linejoin="round" />
  </svg>
);

/** The paperclip button; opens the system file chooser (several files at once). */
export function AttachButton({ onFiles }: { onFiles: (files: File[]) => void }) {
  const input = useRef<HTMLInputElement>(null);
  return (
    <>
      <button type="button" class="icon-button attach" aria-label="Attach files" title="Attach files"
              onClick={() => input.current?.click()}>{paperclip}</button>
      <input ref={input} type="file" multiple hidden tabIndex={-1} aria-hidden="true"
             onChange={(e) => {
               const files = [...(e.currentTarget.files ?? [])];
               e.currentTarget.value = '';            // choosing the same file again fires change again
               if (files.length) onFiles(files);
             }} />
    </>
  );
}

/** The chips of a room's files waiting to be sent, and what went wrong adding files. */
export function UploadTray({ queue, notice }: { queue: UploadQueue; notice: string | null }) {
  const items = queue.items();
  if (!items.length && !notice) return null;
  return (
    <div class="upload-tray">
      {items.length > 0 && (
        <ul class="upload-chips" aria-label="Files to send">
          {items.map((it) => <UploadChip key={it.key} item={it} onRemove={() => queue.remove(it.key)}
                                         onRetry={() => queue.retry(it.key)} />)}
        </ul>
      )}
      {notice && <p class="form-error" role="alert">{notice}</p>}
    </div>
  );
}

function UploadChip({ item, onRemove, onRetry }: { item: UploadItem; onRemove: () => void; onRetry: () => void }) {
  const [broken, setBroken] = useState(false);   // named like an image but is not one
  const active = item.state === 'queued' || item.state === 'uploading';
  const pct = item.size ? Math.floor((item.loaded / item.size) * 100) : 0;
  return (
    <li class={`upload-chip ${item.state}`} data-testid="upload-chip" data-state={item.state}>
      <span class="chip-thumb">
        {item.localUrl && !broken ? <img src={item.localUrl} alt="" onError={() => setBroken(true)} />
          : <FileBadge name={item.name} mime={broken ? '' : item.type} />}
      </span>
      <span class="chip-text">
        <span class="chip-name" title={item.name}>{item.name}</span>
        {item.state === 'failed' ? (
          <span class="chip-error" role="alert">
            {uploadErrorText(item.error)}
            {item.error?.retryable && <> <button type="button" class="link" onClick={onRetry}>Retry</button></>}
          </span>
        ) : (
          <span class="chip-meta">
            {item.state === 'done' ? formatBytes(item.size)
              : item.state === 'queued' ? `Waiting · ${formatBytes(item.size)}`
              : `${formatBytes(item.loaded)} of ${formatBytes(item.size)}`}
          </span>
        )}
      </span>
      <button type="button" class="chip-remove" onClick={onRemove}
              aria-label={active ? `Cancel upload of ${item.name}` : `Remove ${item.name}`}
              title={active ? 'Cancel upload' : 'Remove'}>
        <svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true"><path d="M6 6l12 12M18 6L6 18" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" /></svg>
      </button>
      {active && (
        <span class="chip-progress" role="progressbar" aria-label={`Uploading ${item.name}`}
              aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct}>
          <span style={{ width: `${pct}%` }} />
        </span>
      )}
    </li>
  );
}

/**
 * Files dropped anywhere on the element matching `zone` (default: the conversation) that holds
 * `inside` go to `onFiles`; while files are dragged over it, it carries the class `drop-target`
 * (the "Drop to share" overlay). Rebinds when `inside` moves to another zone or appears later.
 */
export function useFileDrop(inside: RefObject<HTMLElement>, onFiles: (files: File[]) => void,
                            zone = '.conversation'): void {
  const cb = useRef(onFiles);
  cb.current = onFiles;
  const bound = useRef<{ el: HTMLElement; off: () => void } | null>(null);
  useEffect(() => {
    const el = inside.current?.closest<HTMLElement>(zone) ?? null;
    if (bound.current?.el === el) return;
    bound.current?.off();
    bound.current = el ? { el, off: bindDrop(el, (files) => cb.current(files)) } : null;
  });
  useEffect(() => () => { bound.current?.off(); bound.current = null; }, []);
}

function bindDrop(zone: HTMLElement, onFiles: (files: File[]) => void): () => void {
  let depth = 0;
  const carriesFiles = (e: DragEvent) => !!e.dataTransfer && [...e.dataTransfer.types].includes('Files');
  const off = () => { depth = 0; zone.classList.remove('drop-target'); };
  const enter = (e: DragEvent) => {
    if (!carriesFiles(e)) return;
    e.preventDefault();
    depth++;
    zone.classList.add('drop-target');
  };
  const over = (e: DragEvent) => {
    if (!carriesFiles(e)) return;
    e.preventDefault();                         // allows the drop
    e.dataTransfer!.dropEffect = 'copy';
  };
  const leave = (e: DragEvent) => {
    if (!carriesFiles(e)) return;
    depth = Math.max(0, depth - 1);
    if (depth === 0) off();
  };
  const drop = (e: DragEvent) => {
    if (!carriesFiles(e)) return;
    e.preventDefault();                         // never let the browser navigate to the file
    e.stopPropagation();                        // one zone takes it (a thread panel inside a pane)
    off();
    const files = [...(e.dataTransfer?.files ?? [])];
    if (files.length) onFiles(files);
  };
  zone.addEventListener('dragenter', enter);
  zone.addEventListener('dragover', over);
  zone.addEventListener('dragleave', leave);
  zone.addEventListener('drop', drop);
  return () => {
    off();
    zone.removeEventListener('dragenter', enter);
    zone.removeEventListener('dragover', over);
    zone.removeEventListener('dragleave', leave);
    zone.removeEventListener('drop', drop);
  };
}

/**
 * The files of a paste, when it is a paste of files (a screenshot, an image copied alone):
 * clipboard content that also carries plain text (a spreadsheet range, a document) is pasted
 * as text, as the person expects. Pasted images get a readable, dated name.
 */
export function pastedFiles(data: DataTransfer | null, now = new Date()): File[] {
  if (!data || data.files.length === 0) return [];
  if ([...data.types].includes('text/plain') && data.getData('text/plain').trim()) return [];
  return [...data.files].map((f) => {
    if (f.name && !/^image\.\w+$/.test(f.name)) return f;
    const ext = f.type.split('/')[1]?.replace('jpeg', 'jpg') ?? 'bin';
    const pad = (n: number) => String(n).padStart(2, '0');
    const stamp = `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())} ${pad(now.getHours())}.${pad(now.getMinutes())}.${pad(now.getSeconds())}`;
    return new File([f], `Pasted image ${stamp}.${ext}`, { type: f.type });
  });
}

// --- message side

/** The box an image is shown in: within max × max, keeping its aspect ratio. */
export function fitBox(w: number | null, h: number | null, max: number): { w: number; h: number } {
  if (!w || !h) return { w: max, h: Math.round(max * 0.75) };
  const s = Math.min(1, max / Math.max(w, h));
  return { w: Math.max(1, Math.round(w * s)), h: Math.max(1, Math.round(h * s)) };
}

const kSingleMax = 360;   // one image: up to this on its longer side
const kTile = 152;        // several: square tiles
const kThumbPx = 320;     // files.thumbnail_px
const kPreviewPx = 1280;  // files.preview_px

type LightboxProps = { images: Attachment[]; start: number; onClose: () => void };
let lightboxModule: Promise<ComponentType<LightboxProps>> | null = null;
function loadLightbox(): Promise<ComponentType<LightboxProps>> {
  lightboxModule ??= import('./lightbox').then((mod) => mod.Lightbox);
  return lightboxModule;
}

/** A message's attachments. Mounted by the message item (and the pending copy of a send). */
export function MessageAttachments({ attachments }: { attachments: readonly Attachment[] | undefined }) {
  const [open, setOpen] = useState<number | null>(null);
  const [Box, setBox] = useState<ComponentType<LightboxProps> | null>(null);
  if (!attachments || attachments.length === 0) return null;
  const images = attachments.filter((a) => a.kind === 'image' && a.thumbnail_url);
  const media = attachments.filter((a) => a.kind === 'video' || a.kind === 'audio');
  const files = attachments.filter((a) => !(a.kind === 'image' && a.thumbnail_url) && a.kind !== 'video' && a.kind !== 'audio');
  const single = images.length === 1;

  const show = (i: number) => {
    setOpen(i);
    if (!Box) void loadLightbox().then((c) => setBox(() => c));
  };

  return (
    <div class="attachments" data-testid="attachments">
      {images.length > 0 && (
        <div class={`att-images ${single ? 'single' : 'grid'}`}>
          {images.map((a, i) => {
            const box = single ? fitBox(a.width, a.height, kSingleMax) : { w: kTile, h: kTile }; // tiles: CSS sizes them
            const t = fitBox(a.width, a.height, kThumbPx);
            const p = fitBox(a.width, a.height, kPreviewPx);
            return (
              <button key={a.id} type="button" class="att-image" onClick={() => show(i)}
                      aria-label={`Open image ${a.name}`} data-testid="attachment-image"
                      style={single ? { width: `${box.w}px`, aspectRatio: `${box.w} / ${box.h}` } : undefined}>
                <img src={a.thumbnail_url!} alt={a.name} width={box.w} height={box.h} loading="lazy" decoding="async"
                     srcset={p.w > t.w && a.preview_url ? `${a.thumbnail_url} ${t.w}w, ${a.preview_url} ${p.w}w` : undefined}
                     sizes={`${box.w}px`} />
              </button>
            );
          })}
        </div>
      )}
      {media.map((a) => <MediaPlayer key={a.id} a={a} />)}
      {files.map((a) => <FileCard key={a.id} a={a} />)}
      {open !== null && Box && <Box images={images} start={open} onClose={() => setOpen(null)} />}
    </div>
  );
}

/**
 * Video and audio play in place (the server answers Range requests, so seeking works). Video
 * has no stored dimensions: a 16:9 box is reserved and the picture letterboxed inside it, so
 * nothing moves when the metadata arrives. Only metadata is fetched until the person plays.
 */
function MediaPlayer({ a }: { a: Attachment }) {
  return (
    <figure class={`att-media ${a.kind}`} data-testid={`attachment-${a.kind}`}>
      {a.kind === 'video'
        ? <video controls preload="metadata" src={a.url} aria-label={a.name} width={360} height={203} />
        : <audio controls preload="metadata" src={a.url} aria-label={a.name} />}
      <figcaption>
        <span class="att-file-name">{a.name}</span>
        <span class="att-file-meta">{formatBytes(a.size)}</span>
        <a class="att-media-dl" href={a.url} download={a.name} title={`Download ${a.name}`}>Download</a>
      </figcaption>
    </figure>
  );
}

function FileCard({ a }: { a: Attachment }) {
  return (
    <a class="att-file" href={a.url} download={a.name} data-testid="attachment-file" title={`Download ${a.name}`}>
      <FileBadge name={a.name} mime={a.mime} />
      <span class="att-file-text">
        <span class="att-file-name">{a.name}</span>
        <span class="att-file-meta">{formatBytes(a.size)} · {typeLabel(a.name, a.mime)}</span>
      </span>
      <span class="att-file-dl" aria-hidden="true">
        <svg viewBox="0 0 24 24" width="20" height="20"><path d="M12 4v11m0 0l-4.5-4.5M12 15l4.5-4.5M5 19.5h14" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" /></svg>
      </span>
    </a>
  );
}

/** A short label for a file's type: the extension, else the MIME subtype ("PDF", "ZIP"). */
export function typeLabel(name: string, mime: string): string {
  const ext = /\.([A-Za-z0-9]{1,5})$/.exec(name)?.[1];
  if (ext) return ext.toUpperCase();
  const sub = mime.split('/')[1] ?? '';
  return (sub.length <= 5 ? sub : mime.split('/')[0] || 'file').toUpperCase();
}

function badgeHue(mime: string): string {
  if (mime.startsWith('image/')) return 'image';
  if (mime.startsWith('video/')) return 'video';
  if (mime.startsWith('audio/')) return 'audio';
  if (mime === 'application/pdf') return 'pdf';
  if (/zip|tar|gzip|7z/.test(mime)) return 'archive';
  if (/sheet|excel|csv/.test(mime)) return 'sheet';
  if (/word|document|text/.test(mime)) return 'doc';
  return 'file';
}

function FileBadge({ name, mime }: { name: string; mime: string }) {
  return (
    <span class="file-badge" data-hue={badgeHue(mime)} aria-hidden="true">
      <svg viewBox="0 0 32 40" width="28" height="35">
        <path d="M4 2h16l8 8v26a2 2 0 01-2 2H4a2 2 0 01-2-2V4a2 2 0 012-2z" fill="currentColor" />
        <path d="M20 2v6a2 2 0 002 2h6" fill="rgb(255 255 255 / 45%)" />
      </svg>
      <span class="file-badge-ext">{typeLabel(name, mime).slice(0, 4)}</span>
    </span>
  );
}
