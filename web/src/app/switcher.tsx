// app/switcher.tsx: the Ctrl/Cmd-K room switcher: type to filter the rooms by name, arrows to
// move, Enter to open, Escape to close. Unread rooms first when nothing is typed.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { Id } from '../sdk';
import { Avatar } from './avatar';
import type { AppStore } from './store';

export function Switcher({ store, onClose }: { store: AppStore; onClose: (room: Id | null) => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [q, setQ] = useState('');
  const [sel, setSel] = useState(0);
  useEffect(() => {
    const d = ref.current!;
    d.showModal();
    const close = () => onClose(null);
    d.addEventListener('cancel', close);
    return () => d.removeEventListener('cancel', close);
  }, []);
  const shown = useMemo(() => rankRooms(store, q).slice(0, 12), [q, store.rooms.value, store.users.value]);
  useEffect(() => setSel(0), [q]);

  return (
    <dialog ref={ref} class="dialog switcher" aria-label="Switch conversation">
      <input type="search" role="combobox" aria-expanded="true" aria-controls="switcher-list" aria-label="Go to conversation"
             aria-activedescendant={shown[sel] ? `sw-${shown[sel]}` : undefined} placeholder="Go to conversation…"
             value={q} autoFocus onInput={(e) => setQ(e.currentTarget.value)}
             onKeyDown={(e) => {
               if (e.key === 'ArrowDown') { e.preventDefault(); setSel((i) => Math.min(shown.length - 1, i + 1)); }
               else if (e.key === 'ArrowUp') { e.preventDefault(); setSel((i) => Math.max(0, i - 1)); }
               else if (e.key === 'Enter' && shown[sel]) { e.preventDefault(); onClose(shown[sel]); }
             }} />
      <ul id="switcher-list" role="listbox" aria-label="Conversations" class="switcher-list">
        {shown.length === 0 && <li class="muted empty">No conversation matches.</li>}
        {shown.map((id, i) => {
          const s = store.rooms.value.get(id)!;
          const title = store.roomTitle(s);
          const unread = store.unread(s);
          return (
            <li key={id} id={`sw-${id}`} role="option" aria-selected={i === sel} class={i === sel ? 'selected' : ''}
                onMouseMove={() => setSel(i)} onClick={() => onClose(id)}>
              <Avatar id={s.room.kind === 'dm' ? s.dm_peer_id ?? id : id} name={title} size={28} group={s.room.kind === 'group'} />
              <span class="sw-title">{title}</span>
              {unread > 0 && <span class="badge">{unread > 99 ? '99+' : unread}</span>}
            </li>
          );
        })}
      </ul>
      <p class="muted switcher-hint">↑↓ to move · Enter to open · Esc to close</p>
    </dialog>
  );
}

/** Room ids matching the query: title prefix, then word prefix, then substring; unread first without a query. */
export function rankRooms(store: Pick<AppStore, 'sortedRooms' | 'roomTitle' | 'unread'>, query: string): Id[] {
  const q = query.trim().toLowerCase();
  const rooms = store.sortedRooms();
  if (!q) {
    return [...rooms].sort((a, b) => Number(store.unread(b) > 0) - Number(store.unread(a) > 0)).map((s) => s.room.id);
  }
  const scored: Array<[number, Id]> = [];
  for (const s of rooms) {
    const t = store.roomTitle(s).toLowerCase();
    const score = t.startsWith(q) ? 0 : t.split(/\s+/).some((w) => w.startsWith(q)) ? 1 : t.includes(q) ? 2 : -1;
    if (score >= 0) scored.push([score, s.room.id]);
  }
  return scored.sort((a, b) => a[0] - b[0]).map(([, id]) => id);
}
