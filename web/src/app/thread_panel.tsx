// app/thread_panel.tsx: a thread in a side panel (desktop: right of the conversation; under
// 768px: its own pane with back navigation): the root, its replies live, and a composer.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Attachment } from '../sdk';
import { AttachButton, MessageAttachments, pastedFiles, UploadTray, useFileDrop, useUploadQueue } from './attachments';
import { Avatar } from './avatar';
import { messageHtml } from './format_body';
import { timeLabel } from './messages';
import { errorText, type AppStore } from './store';

export function ThreadPanel({ store }: { store: AppStore }) {
  const t = store.thread.value;
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const list = useRef<HTMLOListElement>(null);
  const box = useRef<HTMLTextAreaElement>(null);
  const uploads = useUploadQueue(store, `thread:${t?.root.id ?? ''}`);
  const [fileNotice, setFileNotice] = useState<string | null>(null);
  const addFiles = (files: File[]) => setFileNotice(uploads.add(files));
  useFileDrop(box, addFiles, '.thread-panel');
  void store.users.value;
  useEffect(() => { list.current?.lastElementChild?.scrollIntoView({ block: 'end' }); }, [t?.replies.length]);
  // A reply opened from search: scroll to it and flash it once it is loaded.
  useEffect(() => {
    const el = t?.focus && !t.loading ? list.current?.querySelector<HTMLElement>(`[data-message-id="${t.focus}"]`) : null;
    if (!el) return;
    el.scrollIntoView({ block: 'center' });
    el.classList.add('flash');
    store.threadFocusDone();
  }, [t?.focus, t?.loading]);
  if (!t) return null;
  const all = [t.root, ...t.replies];
  const canSend = (text.trim() || uploads.size > 0) && uploads.ready;
  const send = async () => {
    const body = text.trim();
    if (!canSend) return;
    const files: Attachment[] = uploads.take();
    setText('');
    setFileNotice(null);
    try { await store.replyInThread(t.room, t.root.id, body, files); setError(null); }
    catch (e) { setText(body); uploads.putBack(files); setError(errorText(e)); }
  };
  return (
    <aside class="thread-panel" aria-label="Thread">
      <header class="conv-head">
        <div class="conv-title">
          <h2>Thread</h2>
          <p class="muted">{t.replies.length} {t.replies.length === 1 ? 'reply' : 'replies'}</p>
        </div>
        <button class="icon-button" type="button" aria-label="Close thread" onClick={() => store.closeThread()}>
          <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true"><path d="M6 6l12 12M18 6L6 18" stroke="currentColor" stroke-width="2" stroke-linecap="round" /></svg>
        </button>
      </header>
      <div class="thread-scroll">
        <ol class="messages" aria-label="Thread messages" ref={list}>
          {all.map((m, i) => (
            <li key={m.id} class={`msg${i === 0 ? ' thread-root' : ''}${m.deleted_at !== null ? ' deleted' : ''}`} data-testid="thread-message"
                data-message-id={m.id}>
              <div class="msg-gutter"><Avatar id={m.sender_id} name={store.displayName(m.sender_id)} size={32} /></div>
              <div class="msg-main">
                <div class="msg-head">
                  <strong class="msg-author">{store.displayName(m.sender_id)}</strong>
                  <time dateTime={new Date(m.created_at).toISOString()}>{timeLabel(m.created_at)}</time>
                </div>
                {m.deleted_at !== null ? <p class="msg-body tombstone">This message was deleted.</p>
                  : <div class="msg-body" dangerouslySetInnerHTML={{ __html: messageHtml(m) }} />}
                {m.deleted_at === null && <MessageAttachments attachments={m.attachments} />}
              </div>
            </li>
          ))}
        </ol>
        {t.loading && <p class="loading" role="status">Loading replies…</p>}
        {(t.error || error) && <p class="form-error" role="alert">{t.error ?? error}</p>}
      </div>
      {t.root.deleted_at === null && (
        <div class="thread-compose">
        <UploadTray queue={uploads} notice={fileNotice} />
        <form class="composer composer-row thread-composer" onSubmit={(e) => { e.preventDefault(); void send(); }}>
          <AttachButton onFiles={addFiles} />
          <textarea ref={box} rows={1} value={text} placeholder="Reply in thread" aria-label="Reply in thread"
                    onInput={(e) => setText(e.currentTarget.value)}
                    onPaste={(e) => {
                      const files = pastedFiles(e.clipboardData);
                      if (files.length) { e.preventDefault(); addFiles(files); }
                    }}
                    onKeyDown={(e) => { if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); void send(); } }} />
          <button class="send" type="submit" aria-label="Send reply" disabled={!canSend}>
            <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true"><path d="M4 12l16-8-6 16-2.5-6.5L4 12z" fill="currentColor" /></svg>
          </button>
        </form>
        </div>
      )}
    </aside>
  );
}
