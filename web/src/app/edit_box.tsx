// app/edit_box.tsx: the in-place editor of one of your messages. Enter saves, Shift+Enter adds
// a line, Escape cancels. While the save is in flight the box stays open (Save disabled); a
// failed save keeps the box and the text, and shows the server's reason (role=alert) so the
// user can retry or cancel; nothing fails silently.
//
// Focus: the box takes focus with the caret at the end *while it mounts* (useLayoutEffect),
// in the same task as the click that opened it. A deferred effect (useEffect runs after the
// next paint) could land after the user, or an automated test, had already selected the text
// to replace it, and collapse that selection: the new text was then inserted after the old
// one and saved as "old + new" (the e2e edit that failed now and then under load).
import { useLayoutEffect, useRef, useState } from 'preact/hooks';

export interface EditBoxProps {
  initial: string;
  /** Stores the new text; a rejection is shown in the box, which stays open. */
  onSave: (body: string) => Promise<void>;
  onCancel: () => void;
  /** Turns a failure into the sentence shown to the user. */
  errorText: (e: unknown) => string;
}

export function EditBox({ initial, onSave, onCancel, errorText }: EditBoxProps) {
  const [text, setText] = useState(initial);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const ref = useRef<HTMLTextAreaElement>(null);
  useLayoutEffect(() => {
    const t = ref.current!;
    t.focus();
    t.setSelectionRange(t.value.length, t.value.length);
  }, []);

  // Save what the textarea holds now: a key press can arrive before the re-render that follows
  // the last input event, while `text` still holds the previous value.
  const save = async () => {
    const v = ref.current?.value ?? text;
    if (!v.trim() || saving) return;
    setSaving(true);
    setError(null);
    try {
      await onSave(v);
    } catch (e) {
      setError(errorText(e));
      setSaving(false);
    }
  };

  return (
    <form class="edit-box" onSubmit={(e) => { e.preventDefault(); void save(); }}>
      <textarea ref={ref} aria-label="Edit message" value={text} rows={2} aria-invalid={error !== null}
                onInput={(e) => setText(e.currentTarget.value)}
                onKeyDown={(e) => {
                  if (e.key === 'Escape') { e.preventDefault(); onCancel(); }
                  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); void save(); }
                }} />
      {error && <p class="form-error" role="alert">Not saved: {error}</p>}
      <div class="edit-actions">
        <span class="muted">Escape to cancel · Enter to save</span>
        <button type="button" class="ghost" onClick={onCancel}>Cancel</button>
        <button type="submit" class="primary" disabled={saving}>{saving ? 'Saving…' : 'Save'}</button>
      </div>
    </form>
  );
}
