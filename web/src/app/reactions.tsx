// app/reactions.tsx: reaction chips under a message (count, yours highlighted, click toggles)
// and the "add reaction" button: six quick emoji and, on demand, the full picker, which is a
// separate chunk (emoji data is large; the initial JavaScript stays small).
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ComponentType } from 'preact';
import type { Id, Message } from '../sdk';
import type { AppStore } from './store';

// Spelled as emojibase-data spells them (the picker and the server's :shortcode: table use the
// same data), so a 👍 from here and one from the picker are the same reaction: the server
// compares emoji byte for byte.
export const kQuickReactions = ['\u{1F44D}\u{FE0F}', '\u{2764}\u{FE0F}', '\u{1F602}', '\u{1F389}', '\u{1F62E}', '\u{1F622}'];

export function Reactions({ store, room, m }: { store: AppStore; room: Id; m: Message }) {
  void store.myReactions.value;
  const list = m.reactions ?? [];
  if (list.length === 0) return null;
  return (
    <ul class="reactions" aria-label="Reactions">
      {list.map((r) => {
        const mine = store.hasReacted(m.id, r.emoji);
        return (
          <li key={r.emoji}>
            <button type="button" class={`reaction${mine ? ' mine' : ''}`} aria-pressed={mine}
                    aria-label={`${r.emoji} ${r.count} reaction${r.count === 1 ? '' : 's'}${mine ? ', including yours' : ''}`}
                    data-emoji={r.emoji} onClick={() => void store.toggleReaction(room, m.id, r.emoji)}>
              <span class="reaction-emoji" aria-hidden="true">{r.emoji}</span>
              <span class="reaction-count" aria-hidden="true">{r.count}</span>
            </button>
          </li>
        );
      })}
    </ul>
  );
}

type PickerProps = { onPick: (emoji: string) => void; onClose: () => void };
let pickerModule: Promise<ComponentType<PickerProps>> | null = null;
function loadPicker(): Promise<ComponentType<PickerProps>> {
  pickerModule ??= import('./emoji_picker').then((mod) => mod.EmojiPicker);
  return pickerModule;
}

export function ReactButton({ store, room, m }: { store: AppStore; room: Id; m: Message }) {
  const [open, setOpen] = useState(false);
  const [Picker, setPicker] = useState<ComponentType<PickerProps> | null>(null);
  const [full, setFull] = useState(false);
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!open) return;
    const onDown = (e: Event) => { if (box.current && !box.current.contains(e.target as Node)) close(); };
    const onKey = (e: KeyboardEvent) => { if (e.key === 'Escape') close(); };
    document.addEventListener('pointerdown', onDown);
    document.addEventListener('keydown', onKey);
    return () => { document.removeEventListener('pointerdown', onDown); document.removeEventListener('keydown', onKey); };
  }, [open]);

  const close = () => { setOpen(false); setFull(false); };
  const pick = (emoji: string) => { close(); void store.toggleReaction(room, m.id, emoji); };
  const more = () => { setFull(true); void loadPicker().then((P) => setPicker(() => P)); };

  return (
    <div class="react-wrap" ref={box}>
      <button type="button" aria-label="Add reaction" aria-expanded={open} aria-haspopup="dialog"
              onMouseEnter={() => void loadPicker()} onClick={() => (open ? close() : setOpen(true))}>
        <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true"><circle cx="12" cy="12" r="9" fill="none" stroke="currentColor" stroke-width="1.8" /><path d="M8.5 14.5c1.8 2 5.2 2 7 0" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" /><circle cx="9" cy="10" r="1.2" fill="currentColor" /><circle cx="15" cy="10" r="1.2" fill="currentColor" /></svg>
      </button>
      {open && (
        <div class="react-pop" role="dialog" aria-label="Choose a reaction">
          {full ? (Picker ? <Picker onPick={pick} onClose={close} /> : <p class="muted picker-loading" role="status">Loading emoji…</p>) : (
            <div class="quick-reactions">
              {kQuickReactions.map((e) => (
                <button key={e} type="button" class="quick" aria-label={`React with ${e}`} onClick={() => pick(e)}>{e}</button>
              ))}
              <button type="button" class="quick more" aria-label="More emoji" onClick={more}>+</button>
            </div>
          )}
        </div>
      )}
    </div>
  );
}
