// app/lightbox.tsx: a message's images, full size (lazy chunk, loaded on the first open).
// A modal <dialog>: the browser puts it in the top layer (above a virtualized, transformed
// list), makes the rest of the page inert so focus stays inside, and gives it the dialog role.
// Keys: Escape closes, Left/Right go between the message's images, Home/End to the first/last,
// Tab cycles through the dialog's buttons (a modal dialog alone lets Tab leave for the browser's
// own UI).
// Focus returns to the thumbnail that opened it.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Attachment } from '../sdk';
import { formatBytes } from './upload_queue';

export function Lightbox({ images, start, onClose }: { images: Attachment[]; start: number; onClose: () => void }) {
  const [i, setI] = useState(Math.min(Math.max(start, 0), images.length - 1));
  const ref = useRef<HTMLDialogElement>(null);
  const a = images[i];
  const n = images.length;

  useEffect(() => {
    const d = ref.current!;
    const opener = document.activeElement as HTMLElement | null;
    d.showModal();
    d.querySelector<HTMLElement>('.lb-close')?.focus();
    return () => { if (d.open) d.close(); opener?.focus(); };
  }, []);

  const go = (to: number) => setI(((to % n) + n) % n);

  return (
    <dialog ref={ref} class="lightbox" aria-label={`${a.name}, image ${i + 1} of ${n}`} data-testid="lightbox"
            onCancel={(e) => { e.preventDefault(); onClose(); }}
            onKeyDown={(e) => {
              if (e.key === 'ArrowRight' && n > 1) { e.preventDefault(); go(i + 1); }
              else if (e.key === 'ArrowLeft' && n > 1) { e.preventDefault(); go(i - 1); }
              else if (e.key === 'Home') { e.preventDefault(); go(0); }
              else if (e.key === 'End') { e.preventDefault(); go(n - 1); }
              else if (e.key === 'Tab') trapTab(e, e.currentTarget);
            }}
            onClick={(e) => { if (e.target === e.currentTarget || (e.target as HTMLElement).classList.contains('lb-stage')) onClose(); }}>
      <header class="lb-bar">
        <div class="lb-title">
          <strong>{a.name}</strong>
          <span>{formatBytes(a.size)}{a.width && a.height ? ` · ${a.width} × ${a.height}` : ''}{n > 1 ? ` · ${i + 1} of ${n}` : ''}</span>
        </div>
        <a class="lb-btn" href={a.url} download={a.name} aria-label={`Download ${a.name}`} title="Download original">
          <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true"><path d="M12 4v11m0 0l-4.5-4.5M12 15l4.5-4.5M5 19.5h14" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" /></svg>
        </a>
        <button type="button" class="lb-btn lb-close" aria-label="Close" title="Close (Esc)" onClick={onClose}>
          <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true"><path d="M6 6l12 12M18 6L6 18" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" /></svg>
        </button>
      </header>
      <div class="lb-stage">
        <img key={a.id} src={shownUrl(a)} alt={a.name} width={a.width ?? undefined} height={a.height ?? undefined}
             data-testid="lightbox-image" />
      </div>
      {n > 1 && (
        <>
          <button type="button" class="lb-nav prev" aria-label="Previous image" onClick={() => go(i - 1)}>
            <svg viewBox="0 0 24 24" width="26" height="26" aria-hidden="true"><path d="M15 5l-7 7 7 7" stroke="currentColor" stroke-width="2.2" fill="none" stroke-linecap="round" stroke-linejoin="round" /></svg>
          </button>
          <button type="button" class="lb-nav next" aria-label="Next image" onClick={() => go(i + 1)}>
            <svg viewBox="0 0 24 24" width="26" height="26" aria-hidden="true"><path d="M9 5l7 7-7 7" stroke="currentColor" stroke-width="2.2" fill="none" stroke-linecap="round" stroke-linejoin="round" /></svg>
          </button>
        </>
      )}
    </dialog>
  );
}

/** Keeps Tab and Shift+Tab inside `box`, wrapping from the last control to the first. */
function trapTab(e: KeyboardEvent, box: HTMLElement): void {
  const controls = [...box.querySelectorAll<HTMLElement>('a[href], button:not([disabled])')];
  if (controls.length === 0) return;
  const first = controls[0];
  const last = controls[controls.length - 1];
  const at = document.activeElement;
  if (e.shiftKey && (at === first || !box.contains(at) || at === box)) { e.preventDefault(); last.focus(); }
  else if (!e.shiftKey && (at === last || !box.contains(at))) { e.preventDefault(); first.focus(); }
}

/** The preview (a still WebP); a GIF of reasonable size is shown as sent, so it moves. */
function shownUrl(a: Attachment): string {
  if (a.mime === 'image/gif' && a.size <= 8_000_000) return a.url;
  return a.preview_url ?? a.url;
}
