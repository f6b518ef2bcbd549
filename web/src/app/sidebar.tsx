// app/sidebar.tsx: the room list (DMs and groups, sorted by activity, unread badges, last
// message preview), the connection badge, "new conversation" and the account menu.
import { useState } from 'preact/hooks';
import type { RoomSummary } from '../sdk';
import { Avatar, PresenceDot } from './avatar';
import { ConnectionBadge } from './connection_badge';
import { shortWhen } from './messages';
import { NewChatDialog } from './new_chat_dialog';
import { openSearch } from './search_panel';
import { SettingsDialog } from './settings_dialog';
import type { AppStore } from './store';

export function Sidebar({ store, navigate }: { store: AppStore; navigate: (room: string | null) => void }) {
  const [dialog, setDialog] = useState(false);
  const [settings, setSettings] = useState(false);
  const [filter, setFilter] = useState('');
  const me = store.me.value!;
  const rooms = store.sortedRooms();
  void store.users.value;
  const q = filter.trim().toLowerCase();
  const shown = q ? rooms.filter((s) => store.roomTitle(s).toLowerCase().includes(q)) : rooms;

  return (
    <aside class="sidebar" aria-label="Conversations">
      <header class="sidebar-head">
        <div class="brand small">
          <img src="/icon.svg" alt="" width="28" height="28" />
          <span>Parley</span>
        </div>
        <ConnectionBadge store={store} />
        <button class="icon-button" type="button" aria-label="Search messages" title="Search messages (/ or Ctrl+F)"
                aria-expanded={store.search.open.value} onClick={() => openSearch(store)}>
          <svg viewBox="0 0 24 24" width="21" height="21" aria-hidden="true"><circle cx="10.5" cy="10.5" r="6" fill="none" stroke="currentColor" stroke-width="2" /><path d="M15 15l5 5" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" /></svg>
        </button>
        <button class="icon-button accent" type="button" aria-label="New conversation" title="New conversation"
                onClick={() => setDialog(true)}>
          <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true"><path d="M12 5v14M5 12h14" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" fill="none" /></svg>
        </button>
      </header>
      <div class="sidebar-search">
        <input type="search" placeholder="Filter conversations" aria-label="Filter conversations" value={filter}
               onInput={(e) => setFilter(e.currentTarget.value)} />
      </div>
      <nav class="room-nav" aria-label="Rooms">
        {rooms.length === 0 ? (
          <div class="empty-list">
            <p>No conversations yet.</p>
            <button class="primary" type="button" onClick={() => setDialog(true)}>Start a conversation</button>
          </div>
        ) : (
          <ul class="room-list">
            {shown.map((s) => <RoomItem key={s.room.id} store={store} s={s} navigate={navigate} />)}
          </ul>
        )}
      </nav>
      <footer class="sidebar-foot">
        <Avatar id={me.id} name={me.display_name || me.username} size={32} />
        <div class="who">
          <strong>{me.display_name || me.username}</strong>
          <span class="muted">@{me.username}</span>
        </div>
        <button class="icon-button" type="button" aria-label="Settings" title="Settings" onClick={() => setSettings(true)}>
          <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true"><circle cx="12" cy="12" r="3" fill="none" stroke="currentColor" stroke-width="1.8" /><path d="M12 2.5v3M12 18.5v3M2.5 12h3M18.5 12h3M5.3 5.3l2.1 2.1M16.6 16.6l2.1 2.1M5.3 18.7l2.1-2.1M16.6 7.4l2.1-2.1" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" /></svg>
        </button>
        <button class="ghost" type="button" onClick={() => void store.signOut()}>Sign out</button>
      </footer>
      {settings && <SettingsDialog store={store} onClose={() => setSettings(false)} />}
      {dialog && <NewChatDialog store={store} onClose={(room) => { setDialog(false); if (room) navigate(room); }} />}
    </aside>
  );
}

function RoomItem({ store, s, navigate }: { store: AppStore; s: RoomSummary; navigate: (room: string) => void }) {
  const title = store.roomTitle(s);
  const unread = store.unread(s);
  const mentions = store.mentions(s);
  const presence = s.room.kind === 'dm' ? store.presenceOf(s.dm_peer_id).status : null;
  const typing = store.typingIn(s.room.id);
  const active = store.current.value === s.room.id;
  const last = s.last_message;
  const me = store.me.value?.id;
  let preview = 'No messages yet';
  if (last) {
    const who = last.sender_id === me ? 'You: ' : s.room.kind === 'group' ? `${store.displayName(last.sender_id)}: ` : '';
    const files = last.attachments?.length ? `📎 ${last.attachments.length === 1 ? last.attachments[0].name : `${last.attachments.length} files`}` : '';
    preview = last.deleted_at !== null ? `${who}Message deleted` : who + (last.body.replace(/\s+/g, ' ') || files);
  }
  return (
    <li>
      <a href={`/r/${s.room.id}`} class={`room${active ? ' active' : ''}${unread ? ' has-unread' : ''}`}
         aria-current={active ? 'page' : undefined}
         onClick={(e) => { e.preventDefault(); navigate(s.room.id); }}>
        <span class="avatar-wrap">
          <Avatar id={s.room.kind === 'dm' ? s.dm_peer_id ?? s.room.id : s.room.id} name={title} size={40} group={s.room.kind === 'group'} />
          {presence && <PresenceDot status={presence} />}
        </span>
        <span class="room-text">
          <span class="room-line">
            <span class="room-title">{title}</span>
            {presence && presence !== 'offline' && <span class="sr-only"> ({presence})</span>}
            {last && <time class="room-when">{shortWhen(last.created_at)}</time>}
          </span>
          <span class="room-line">
            {typing.length > 0 ? <span class="room-preview typing-preview">{typingText(store, s, typing)}</span>
              : <span class="room-preview">{preview}</span>}
            {mentions > 0 && <span class="badge mention" title="Mentions you">@<span class="sr-only"> {mentions} mention{mentions > 1 ? 's' : ''}</span></span>}
            {unread > 0 && <span class="badge">{unread > 99 ? '99+' : unread}<span class="sr-only"> unread</span></span>}
          </span>
        </span>
      </a>
    </li>
  );
}

export function typingText(store: AppStore, s: RoomSummary, who: string[]): string {
  if (s.room.kind === 'dm') return 'typing…';
  const names = who.map((id) => store.displayName(id));
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return 'Several people are typing…';
}
