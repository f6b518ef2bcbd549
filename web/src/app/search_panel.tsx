// app/search_panel.tsx: message search. A panel on the right of the conversation on desktop, its
// own pane under 768px. The box sends the text as typed (docs/search.md is the query language;
// the server checks operators and its refusal is shown as it says it), scoped to everywhere or
// to one conversation, sorted by relevance or recency, with "load more" by cursor. A result shows
// its room, author, time and the highlighted snippet (sanitized: <mark> only); choosing it opens
// the room around that message (store.jumpTo), or the thread for a thread reply.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Id, RoomSummary, SearchResult } from '../sdk';
import { Avatar } from './avatar';
import { safeHtml } from './safe_html';
import type { SearchRoomScope } from './search';
import type { AppStore } from './store';

export const kSearchInputId = 'search-input';

/** Where focus returns when the panel closes (the button or the element that had it). */
let returnFocus: HTMLElement | null = null;

/** Opens the search panel and puts the cursor in its box (the shortcut and the header button). */
export function openSearch(store: AppStore): void {
  if (!store.search.open.value && document.activeElement instanceof HTMLElement && document.activeElement !== document.body) {
    returnFocus = document.activeElement;
  }
  store.search.open.value = true;
  requestAnimationFrame(() => {
    const input = document.getElementById(kSearchInputId) as HTMLInputElement | null;
    input?.focus();
    input?.select();
  });
}

/** How "this conversation" is written for the search (a DM partner not loaded yet: empty name, scoped by id only). */
export function roomScope(store: AppStore, s: RoomSummary): SearchRoomScope {
  if (s.room.kind === 'dm') return { id: s.room.id, kind: 'dm', name: store.user(s.dm_peer_id)?.username ?? '' };
  return { id: s.room.id, kind: 'group', name: s.room.name };
}

const kOperators: Array<[string, string]> = [
  ['deploy', 'messages with the word'],
  ['"exact phrase"', 'these words in this order'],
  ['deplo*', 'words starting with deplo'],
  ['-draft', 'leave out messages with draft'],
  ['from:@alice, from:me', 'sent by someone'],
  ['in:#general, in:@bob', 'in a group, or your DM with someone'],
  ['has:link, has:file, has:image', 'with a link, a file, an image'],
  ['mentions:me, is:thread', 'mentioning you, in a thread'],
  ['before:2026-01-31, after:…, on:…', 'by day (your time zone)'],
  ['during:2026-01', 'in a month, day or year'],
];

export function SearchPanel({ store, navigate }: { store: AppStore; navigate: (room: string | null) => void }) {
  const search = store.search;
  const st = search.state.value;
  const scope = search.scope.value;
  const currentId = store.current.value;
  const current = currentId ? store.rooms.value.get(currentId) : undefined;
  const input = useRef<HTMLInputElement>(null);
  const [note, setNote] = useState<string | null>(null);
  void store.users.value;

  useEffect(() => { input.current?.focus(); }, []);

  const close = () => {
    search.open.value = false;
    const back = returnFocus;
    returnFocus = null;
    if (back?.isConnected) requestAnimationFrame(() => back.focus());
  };
  // Arrow keys move between the box and the results.
  const arrows = (e: KeyboardEvent) => {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    const all = [...(e.currentTarget as HTMLElement).querySelectorAll<HTMLElement>(`#${kSearchInputId}, .search-hit`)];
    const i = all.indexOf(document.activeElement as HTMLElement);
    if (i < 0) return;
    const next = all[Math.min(all.length - 1, Math.max(0, i + (e.key === 'ArrowDown' ? 1 : -1)))];
    if (next !== all[i]) { e.preventDefault(); next.focus(); }
  };
  const rerun = () => { if (search.text.value.trim()) void search.run(); };
  const scopeTitle = scope ? titleOf(store, scope.id, scope.kind === 'group' ? scope.name : null) : current ? store.roomTitle(current) : null;

  const openHit = async (r: SearchResult) => {
    const room = r.room.id;
    if (!store.rooms.value.has(room)) {
      setNote('You are no longer in that conversation, so this message cannot be opened.');
      return;
    }
    setNote(null);
    const thread = r.message.thread_root ?? null;
    // One pane at a time on small screens, and a thread reply shows in the thread panel.
    if (thread || matchMedia('(max-width: 767.98px)').matches) close();
    navigate(room);
    await store.jumpTo(room, thread ?? r.message.id);
    if (thread) {
      const root = store.findMessage(room, thread);
      if (root) await store.openThread(room, root, r.message.id);
    }
  };

  return (
    <aside class="search-panel" aria-label="Search" onKeyDown={arrows}>
      <header class="conv-head">
        <button class="icon-button back-always" type="button" aria-label="Close search" onClick={close}>
          <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true"><path d="M6 6l12 12M18 6L6 18" stroke="currentColor" stroke-width="2" stroke-linecap="round" /></svg>
        </button>
        <div class="conv-title"><h2>Search</h2></div>
      </header>
      <form class="search-form" role="search" onSubmit={(e) => { e.preventDefault(); void search.run(); }}>
        <input id={kSearchInputId} ref={input} type="search" aria-label="Search messages" autoComplete="off" spellcheck={false}
               placeholder='Search messages' value={search.text.value} enterKeyHint="search"
               onInput={(e) => { search.text.value = e.currentTarget.value; if (!e.currentTarget.value) search.clear(); }}
               onKeyDown={(e) => { if (e.key === 'Escape') { e.preventDefault(); close(); } }} />
        <div class="search-options">
          <div class="pills" role="group" aria-label="Where">
            <button type="button" aria-pressed={scope === null} onClick={() => { search.scope.value = null; rerun(); }}>Everywhere</button>
            <button type="button" aria-pressed={scope !== null} disabled={!scope && !current}
                    onClick={() => { if (!scope && current) { search.scope.value = roomScope(store, current); rerun(); } }}>
              {scopeTitle ? `In ${scopeTitle}` : 'This conversation'}
            </button>
          </div>
          <div class="pills" role="group" aria-label="Sort by">
            {(['relevance', 'recent'] as const).map((s) => (
              <button key={s} type="button" aria-pressed={search.sort.value === s}
                      onClick={() => { search.sort.value = s; rerun(); }}>{s === 'relevance' ? 'Best match' : 'Newest'}</button>
            ))}
          </div>
        </div>
        <details class="search-help">
          <summary>Search operators</summary>
          <dl>
            {kOperators.map(([k, v]) => <div key={k}><dt><code>{k}</code></dt><dd>{v}</dd></div>)}
          </dl>
          <p class="muted">The server checks every operator and says so when one is not available.</p>
        </details>
      </form>
      <div class="search-results-wrap">
        {note && <p class="form-error search-error" role="alert">{note}</p>}
        {st?.error && <p class="form-error search-error" role="alert" data-testid="search-error">{st.error}</p>}
        <p class="sr-only" role="status">{st ? (st.loading ? 'Searching…' : `${st.results.length}${st.next ? ' or more' : ''} results`) : ''}</p>
        {st && !st.loading && !st.error && st.results.length === 0 && (
          <div class="search-empty"><p><strong>No messages found.</strong></p><p class="muted">Try fewer words, or another spelling.</p></div>
        )}
        {!st && (
          <div class="search-empty muted"><p>Find messages by their words, who sent them and where.</p>
            <p><kbd>/</kbd> or <kbd>Ctrl</kbd>+<kbd>F</kbd> opens search.</p></div>
        )}
        {st && st.results.length > 0 && (
          <ol class="search-results" aria-label="Search results">
            {st.results.map((r) => <Hit key={r.message.id} store={store} r={r} onOpen={() => void openHit(r)} />)}
          </ol>
        )}
        {st?.loading && <p class="loading">Searching…</p>}
        {st && st.next && !st.loading && (
          <button class="ghost more" type="button" onClick={() => void search.more()}>Load more results</button>
        )}
      </div>
    </aside>
  );
}

function titleOf(store: AppStore, room: Id, groupName: string | null): string {
  const s = store.rooms.value.get(room);
  if (s) return store.roomTitle(s);
  return groupName ?? 'Direct message';
}

function Hit({ store, r, onOpen }: { store: AppStore; r: SearchResult; onOpen: () => void }) {
  const room = titleOf(store, r.room.id, r.room.kind === 'group' ? r.room.name : null);
  const author = store.displayName(r.message.sender_id);
  const when = new Date(r.message.created_at);
  const html = safeHtml(r.snippet, 'snippet');
  return (
    <li>
      <button type="button" class="search-hit" data-testid="search-hit" onClick={onOpen}>
        <Avatar id={r.message.sender_id} name={author} size={32} />
        <span class="hit-text">
          <span class="hit-line">
            <strong class="hit-author">{author}</strong>
            <span class="hit-room">{r.room.kind === 'group' ? `#${room}` : room}{r.message.thread_root ? ' · thread' : ''}</span>
            <time class="hit-when" dateTime={when.toISOString()}>{when.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })}</time>
          </span>
          <span class="hit-snippet" dangerouslySetInnerHTML={{ __html: html }} />
        </span>
      </button>
    </li>
  );
}
