// app/composer.tsx: the message composer. Enter sends, Shift+Enter adds a line, Up on an empty
// composer edits your last message, Escape cancels a reply. Drafts are kept per room. Files
// (button, drop onto the conversation, paste) upload at once and go with the message
// (attachments.tsx). `:shortcode` and `@name` open a completion list (completion_list.tsx; Enter sends
// only while no list is open); the eye button shows a preview of the markdown (preview.tsx).
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { Attachment, Id, Message } from '../sdk';
import { AttachButton, pastedFiles, UploadTray, useFileDrop, useUploadQueue } from './attachments';
import { useCompletion } from './completion_list';
import { MarkdownPreview } from './preview';
import type { AppStore } from './store';

const kMaxBodyBytes = 16 * 1024;

interface Props {
  store: AppStore; room: Id; title: string; replyTo: Message | null;
  onCancelReply: () => void; onSend: (body: string, attachments: Attachment[]) => void; onEditLast: () => void;
}

export function Composer({ store, room, title, replyTo, onCancelReply, onSend, onEditLast }: Props) {
  const [text, setText] = useState(() => store.draft(room));
  const ref = useRef<HTMLTextAreaElement>(null);
  const uploads = useUploadQueue(store, room);
  const [fileNotice, setFileNotice] = useState<string | null>(null);
  const addFiles = (files: File[]) => setFileNotice(uploads.add(files));
  useFileDrop(ref, addFiles);
  const [preview, setPreview] = useState(false);
  const completion = useCompletion({
    store, room, textarea: ref, group: store.rooms.value.get(room)?.room.kind === 'group',
    onReplace: (v) => { setText(v); store.setDraft(room, v); },
  });

  useEffect(() => { setText(store.draft(room)); setFileNotice(null); }, [room]);
  // Focus moves while the change renders (layout effect), not a frame later, when the user may
  // already be typing somewhere else (see edit_box.tsx).
  useLayoutEffect(() => { if (window.matchMedia('(min-width: 768px)').matches) ref.current?.focus(); }, [room, replyTo]);
  useEffect(() => { // grow with the text, up to a limit (CSS max-height)
    const t = ref.current;
    if (!t) return;
    t.style.height = 'auto';
    t.style.height = `${t.scrollHeight}px`;
  }, [text]);

  const tooLong = new TextEncoder().encode(text).length > kMaxBodyBytes;

  const submit = () => {
    const body = text.replace(/^\s*\n|\s+$/g, '');
    if ((!body.trim() && uploads.size === 0) || tooLong || !uploads.ready) return;
    onSend(body, uploads.take());
    setFileNotice(null);
    setText('');
    store.setDraft(room, '');
  };

  return (
    <div class="composer">
      {replyTo && (
        <div class="replying">
          <span>Replying to <strong>{store.displayName(replyTo.sender_id)}</strong>: <span class="muted">{replyTo.body.slice(0, 80)}</span></span>
          <button class="icon-button small" type="button" aria-label="Cancel reply" onClick={onCancelReply}>×</button>
        </div>
      )}
      <UploadTray queue={uploads} notice={fileNotice} />
      {preview && <MarkdownPreview text={text} />}
      {completion.list}
      <form class="composer-row" onSubmit={(e) => { e.preventDefault(); submit(); }}>
        <AttachButton onFiles={addFiles} />
        <button class="icon-button preview-toggle" type="button" aria-label="Preview" aria-pressed={preview} title="Preview the formatting"
                onClick={() => setPreview((p) => !p)}>
          <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true"><path d="M2 12s3.6-7 10-7 10 7 10 7-3.6 7-10 7S2 12 2 12z" fill="none" stroke="currentColor" stroke-width="1.8" /><circle cx="12" cy="12" r="3" fill="currentColor" /></svg>
        </button>
        <textarea ref={ref} rows={1} value={text} placeholder={`Message ${title}`} aria-label={`Message ${title}`}
                  enterkeyhint="send" {...completion.inputProps}
                  onInput={(e) => {
                    const v = e.currentTarget.value;
                    setText(v);
                    store.setDraft(room, v);
                    store.userTyping(room, v.trim().length > 0);
                    completion.update();
                  }}
                  onClick={completion.update}
                  onKeyUp={(e) => { if (/^(Arrow(Left|Right)|Home|End)$/.test(e.key)) completion.update(); }}
                  onBlur={() => store.userTyping(room, false)}
                  onPaste={(e) => {
                    const files = pastedFiles(e.clipboardData);
                    if (files.length) { e.preventDefault(); addFiles(files); }
                  }}
                  onKeyDown={(e) => {
                    if (completion.onKeyDown(e)) return;
                    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); submit(); }
                    else if (e.key === 'Escape' && replyTo) { e.preventDefault(); onCancelReply(); }
                    else if (e.key === 'ArrowUp' && !text) { e.preventDefault(); onEditLast(); }
                  }} />
        <button class="send" type="submit" aria-label="Send message" disabled={(!text.trim() && uploads.size === 0) || tooLong || !uploads.ready}>
          <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true"><path d="M4 12l16-8-6 16-2.5-6.5L4 12z" fill="currentColor" /></svg>
        </button>
      </form>
      {tooLong && <p class="form-error" role="alert">This message is longer than 16 KB.</p>}
    </div>
  );
}
