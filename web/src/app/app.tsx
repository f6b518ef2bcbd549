// app/app.tsx: the shell: auth screen or the two-pane chat (one pane at a time under 768px),
// client-side routing (/ and /r/<room id>, served by the SPA fallback) and the polite live
// region for new messages.
import { effect } from '@preact/signals';
import { useEffect, useState } from 'preact/hooks';
import { AuthScreen } from './auth_screen';
import { Conversation } from './conversation';
import { openSearch, SearchPanel } from './search_panel';
import { Sidebar } from './sidebar';
import { Switcher } from './switcher';
import { ThreadPanel } from './thread_panel';
import type { AppStore } from './store';

function roomFromPath(path: string): string | null {
  const m = /^\/r\/(\d{1,20})\/?$/.exec(path);
  return m ? m[1] : null;
}

export function App({ store }: { store: AppStore }) {
  const phase = store.phase.value;
  const [switcher, setSwitcher] = useState(false);

  useEffect(() => {
    const sync = () => store.open(roomFromPath(location.pathname));
    sync();
    addEventListener('popstate', sync);
    const vis = () => {
      const visible = document.visibilityState === 'visible';
      // Away while the tab is hidden (the server shows away only when every device is).
      store.gateway?.presence(visible ? 'online' : 'away');
      const r = store.current.value;
      if (r && visible) store.markRead(r);
    };
    document.addEventListener('visibilitychange', vis);
    const keys = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && !e.altKey && e.key.toLowerCase() === 'k' && store.phase.value === 'ready') {
        e.preventDefault();
        setSwitcher((x) => !x);
      }
      // Search: Ctrl/Cmd-F anywhere, or "/" when not typing.
      const typing = e.target instanceof HTMLElement && (e.target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName));
      if (store.phase.value === 'ready' && !e.altKey &&
          (((e.ctrlKey || e.metaKey) && !e.shiftKey && e.key.toLowerCase() === 'f') || (e.key === '/' && !e.ctrlKey && !e.metaKey && !typing))) {
        e.preventDefault();
        openSearch(store);
      }
    };
    document.addEventListener('keydown', keys);
    // Unread mentions and rooms in the tab title, live; cleared as rooms are read.
    const title = effect(() => { document.title = store.phase.value === 'ready' ? store.tabTitle() : 'Parley'; });
    return () => {
      title();
      removeEventListener('popstate', sync);
      document.removeEventListener('visibilitychange', vis);
      document.removeEventListener('keydown', keys);
    };
  }, []);

  if (phase === 'loading') {
    // Shown offline too (the service worker serves the app shell): say why nothing happens.
    return (
      <main class="splash" aria-busy="true">
        <img src="/icon.svg" alt="Parley" width="56" height="56" />
        {store.notice.value && <p class="muted" role="status">{store.notice.value}</p>}
      </main>
    );
  }
  if (phase === 'signed_out') {
    if (location.pathname !== '/') history.replaceState(null, '', '/');
    return <AuthScreen store={store} />;
  }

  const navigate = (room: string | null) => {
    const path = room ? `/r/${room}` : '/';
    if (location.pathname !== path) history.pushState({ fromList: room !== null && store.current.value === null }, '', path);
    store.open(room);
  };
  const back = () => {
    if (history.state && (history.state as { fromList?: boolean }).fromList) history.back();
    else navigate(null);
  };

  const currentId = store.current.value;
  const current = currentId ? store.rooms.value.get(currentId) : undefined;
  const searching = store.search.open.value;
  if (currentId && !current && store.connection.value === 'connected' && store.rooms.value.size > 0) {
    // A stale link to a room we are not in (or left).
    queueMicrotask(() => navigate(null));
  }

  return (
    <div class="app" data-view={searching ? 'search' : current ? (store.thread.value ? 'thread' : 'conversation') : 'list'}>
      <Sidebar store={store} navigate={navigate} />
      <main class={`main-pane${searching || (current && store.thread.value) ? ' with-thread' : ''}`}>
        {current ? (
          <Conversation key={current.room.id} store={store} room={current} onBack={back} />
        ) : (
          <div class="placeholder">
            <img src="/icon.svg" alt="" width="64" height="64" />
            <h2>Pick a conversation</h2>
            <p class="muted">Choose one on the left, or start a new one with the + button.</p>
          </div>
        )}
        {searching ? <SearchPanel store={store} navigate={navigate} /> : current && <ThreadPanel store={store} />}
      </main>
      {switcher && <Switcher store={store} onClose={(room) => { setSwitcher(false); if (room) navigate(room); }} />}
      <div class="sr-only" aria-live="polite" aria-atomic="true">{store.announcement.value}</div>
    </div>
  );
}
