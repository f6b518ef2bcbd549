// app/emoji_picker.tsx: the full emoji picker (lazy chunk). Emoji data comes from the npm
// package emojibase-data, reduced at build time to what the picker shows (emoji_data.ts).
import { useMemo, useRef, useLayoutEffect, useState } from 'preact/hooks';
import { kEmojiGroups, searchEmoji, type EmojiEntry } from './emoji_data';

export function EmojiPicker({ onPick, onClose }: { onPick: (emoji: string) => void; onClose: () => void }) {
  const [q, setQ] = useState('');
  const [group, setGroup] = useState(0);
  const input = useRef<HTMLInputElement>(null);
  useLayoutEffect(() => { input.current?.focus(); }, []); // at mount, before any key press (edit_box.tsx)
  const shown: EmojiEntry[] = useMemo(() => (q.trim() ? searchEmoji(q, 120) : kEmojiGroups[group].emoji), [q, group]);
  return (
    <div class="emoji-picker">
      <input ref={input} type="search" placeholder="Search emoji" aria-label="Search emoji" value={q}
             onInput={(e) => setQ(e.currentTarget.value)}
             onKeyDown={(e) => { if (e.key === 'Escape') { e.preventDefault(); onClose(); } if (e.key === 'Enter' && shown[0]) onPick(shown[0].u); }} />
      {!q.trim() && (
        <div class="emoji-tabs" role="tablist" aria-label="Emoji categories">
          {kEmojiGroups.map((g, i) => (
            <button key={g.name} type="button" role="tab" aria-selected={i === group} aria-label={g.name} title={g.name}
                    onClick={() => setGroup(i)}>{g.icon}</button>
          ))}
        </div>
      )}
      <div class="emoji-grid" role="listbox" aria-label={q.trim() ? 'Matching emoji' : kEmojiGroups[group].name}>
        {shown.length === 0 && <p class="muted">No emoji found.</p>}
        {shown.map((e) => (
          <button key={e.u} type="button" role="option" aria-selected={false} aria-label={e.n} title={e.s ? `:${e.s}:` : e.n}
                  onClick={() => onPick(e.u)}>{e.u}</button>
        ))}
      </div>
    </div>
  );
}
