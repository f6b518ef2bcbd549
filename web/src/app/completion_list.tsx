// app/completion_list.tsx: :shortcode: and @mention completion for the composer. The composer calls
// useCompletion with its textarea and spreads `inputProps` on it, lets `onKeyDown` look at a
// key first, calls `update` on every input and caret move, and draws `list`.
//
// Keyboard: Up/Down move, Enter or Tab inserts the highlighted entry, Escape closes the list
// (Enter sends the message only while no list is open). A complete `:shortcode:` typed out is
// replaced by its emoji at once. Emoji data is a lazy chunk (emoji_data.ts), loaded the first
// time a `:` trigger appears; members come from the store (AppStore.members).
//
// ARIA: the textarea keeps its textbox role (a textarea may not take the combobox role) and
// gets aria-autocomplete="list", aria-controls and aria-activedescendant pointing into a
// role=listbox of role=option entries; a polite status line says how many suggestions there
// are, for screen readers.
import type { JSX, RefObject } from 'preact';
import { useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { Id } from '../sdk';
import './completion.css';
import { applyCompletion, findClosedShortcode, findTrigger, moveActive, rankMembers, type Trigger } from './completion';
import type { AppStore } from './store';

type EmojiModule = typeof import('./emoji_data');

interface Option { id: string; insert: string; label: string; detail: string; glyph?: string }

const kMaxOptions = 8;
let emojiModule: EmojiModule | null = null;
let emojiLoading: Promise<EmojiModule> | null = null;

function loadEmoji(): Promise<EmojiModule> {
  emojiLoading ??= import('./emoji_data').then((m) => (emojiModule = m));
  return emojiLoading;
}

export interface Completion {
  /** Spread on the textarea. */
  inputProps: Pick<JSX.HTMLAttributes<HTMLTextAreaElement>, 'aria-autocomplete' | 'aria-controls' | 'aria-activedescendant'>;
  /** Call after every input and caret move (click, arrow keys): re-reads the trigger at the caret. */
  update: () => void;
  /** Call first in the textarea's keydown; true when the key was the list's (already handled). */
  onKeyDown: (e: KeyboardEvent) => boolean;
  /** The list (or nothing), to draw above the composer row. */
  list: JSX.Element | null;
}

export function useCompletion(opts: {
  store: AppStore; room: Id; group: boolean;
  textarea: RefObject<HTMLTextAreaElement>;
  /** Replaces the composer's text (state, draft) with `text`. */
  onReplace: (text: string) => void;
}): Completion {
  const { store, room, group, textarea, onReplace } = opts;
  const [trigger, setTrigger] = useState<Trigger | null>(null);
  const [active, setActive] = useState(0);
  const [dismissedAt, setDismissedAt] = useState<number | null>(null);
  const [, setEmojiReady] = useState(emojiModule !== null);
  const caret = useRef<number | null>(null);
  const listId = `completion-${room}`;

  // After a replacement renders, put the caret after the inserted text.
  useLayoutEffect(() => {
    const t = textarea.current;
    if (t && caret.current !== null) {
      t.setSelectionRange(caret.current, caret.current);
      caret.current = null;
    }
  });

  const memberIds = trigger?.kind === 'mention' ? store.members(room) : [];
  const options: Option[] = useMemo(() => {
    if (!trigger) return [];
    if (trigger.kind === 'emoji') {
      if (!emojiModule) return [];
      return emojiModule.searchEmoji(trigger.query, kMaxOptions).map((e) => ({
        id: e.u, insert: e.u, glyph: e.u, label: e.s ? `:${e.s}:` : e.n, detail: e.n,
      }));
    }
    const users = memberIds.map((id) => store.user(id)).filter((u) => u !== undefined);
    return rankMembers(trigger.query, users, store.me.value?.id ?? null, group, kMaxOptions);
  }, [trigger, emojiModule, memberIds, store.users.value, group]);

  const open = trigger !== null && options.length > 0 && dismissedAt !== trigger.start;
  const index = Math.min(active, Math.max(0, options.length - 1));

  const replace = (t: Trigger | { start: number; end: number }, insert: string) => {
    const el = textarea.current;
    if (!el) return;
    const r = applyCompletion(el.value, { kind: 'emoji', query: '', ...t }, insert);
    caret.current = r.caret;
    setTrigger(null);
    onReplace(r.text);
  };

  const update = () => {
    const el = textarea.current;
    if (!el || el.selectionStart !== el.selectionEnd) { setTrigger(null); return; }
    const pos = el.selectionStart;
    const closed = findClosedShortcode(el.value, pos);
    if (closed && emojiModule) {
      const hit = emojiModule.searchEmoji(closed.code, 1)[0];
      if (hit && hit.s === closed.code) { // ":tada:" typed out becomes the emoji itself
        caret.current = closed.start + hit.u.length;
        setTrigger(null);
        onReplace(el.value.slice(0, closed.start) + hit.u + el.value.slice(closed.end));
        return;
      }
    }
    const t = findTrigger(el.value, pos);
    if (t?.kind === 'emoji' && !emojiModule) void loadEmoji().then(() => setEmojiReady(true));
    if (!t || !trigger || t.start !== trigger.start || t.kind !== trigger.kind) setActive(0);
    if (!t) setDismissedAt(null);
    setTrigger(t);
  };

  const onKeyDown = (e: KeyboardEvent): boolean => {
    if (!open || e.isComposing) return false;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      setActive(moveActive(index, options.length, e.key));
      return true;
    }
    if ((e.key === 'Enter' || e.key === 'Tab') && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      replace(trigger!, options[index].insert);
      return true;
    }
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      setDismissedAt(trigger!.start);
      return true;
    }
    return false;
  };

  const kind = trigger?.kind === 'emoji' ? 'Emoji' : 'People';
  const optionId = (i: number) => `${listId}-${i}`;
  const list = open ? (
    <div class="completion">
      <ul class="completion-list" role="listbox" id={listId} aria-label={kind}>
        {options.map((o, i) => (
          <li key={o.id} id={optionId(i)} role="option" aria-selected={i === index} class={i === index ? 'active' : ''}
              onMouseDown={(e) => { e.preventDefault(); replace(trigger!, o.insert); }}
              onMouseEnter={() => setActive(i)}>
            {o.glyph && <span class="completion-glyph" aria-hidden="true">{o.glyph}</span>}
            <span class="completion-label">{o.label}</span>
            <span class="completion-detail muted">{o.detail}</span>
          </li>
        ))}
      </ul>
      <p class="sr-only" role="status">
        {`${options.length} ${kind === 'Emoji' ? 'emoji' : options.length === 1 ? 'person' : 'people'}: Up and Down to choose, Enter to insert, Escape to close`}
      </p>
    </div>
  ) : null;

  return {
    inputProps: {
      'aria-autocomplete': 'list',
      'aria-controls': open ? listId : undefined,
      'aria-activedescendant': open ? optionId(index) : undefined,
    },
    update,
    onKeyDown,
    list,
  };
}
