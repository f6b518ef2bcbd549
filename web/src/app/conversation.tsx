// app/conversation.tsx: one room: header (title, presence or typing), connection banner, the
// message timeline (message_list.tsx), the typing line, and the composer; which message is
// being replied to or edited.
import { useRef, useState } from 'preact/hooks';
import type { Attachment, Id, Message, RoomSummary } from '../sdk';
import { Avatar, PresenceDot } from './avatar';
import { Composer } from './composer';
import { ConnectionBanner } from './connection_badge';
import { MessageList } from './message_list';
import { lastSeenText } from './messages';
import { openSearch, roomScope } from './search_panel';
import { typingText } from './sidebar';
import type { AppStore } from './store';
import type { MessageListHandle } from './timeline';

export function Conversation({ store, room, onBack }: { store: AppStore; room: RoomSummary; onBack: () => void }) {
  const id = room.room.id;
  const conv = store.conv(id);
  const meId = store.me.value?.id;
  void store.users.value;
  const title = store.roomTitle(room);
  const [replyTo, setReplyTo] = useState<Message | null>(null);
  const [editing, setEditing] = useState<Id | null>(null);
  const list = useRef<MessageListHandle | null>(null);

  // No reset of replyTo/editing on a room change: App keys Conversation by room id, so each
  // room gets fresh state. (A reset in a deferred effect could close an edit box opened within
  // the first frame.)

  const send = (body: string, attachments: Attachment[]) => {
    store.send(id, body, replyTo?.id ?? null, attachments);
    list.current?.scrollToLatest();
    setReplyTo(null);
  };

  const peerPresence = room.room.kind === 'dm' ? store.presenceOf(room.dm_peer_id) : null;
  const typing = store.typingIn(id);
  const subtitle = typing.length > 0 ? typingText(store, room, typing)
    : peerPresence ? (peerPresence.status === 'online' ? 'Online' : peerPresence.status === 'away' ? 'Away'
                      : lastSeenText(peerPresence.last_seen, Date.now()))
    : room.room.topic || 'Group';

  return (
    <section class="conversation" aria-label={`Conversation with ${title}`}>
      <header class="conv-head">
        <button class="icon-button back" type="button" aria-label="Back to conversations" onClick={onBack}>
          <svg viewBox="0 0 24 24" width="24" height="24" aria-hidden="true"><path d="M15 5l-7 7 7 7" stroke="currentColor" stroke-width="2.2" fill="none" stroke-linecap="round" stroke-linejoin="round" /></svg>
        </button>
        <span class="avatar-wrap">
          <Avatar id={room.room.kind === 'dm' ? room.dm_peer_id ?? id : id} name={title} size={36} group={room.room.kind === 'group'} />
          {peerPresence && <PresenceDot status={peerPresence.status} />}
        </span>
        <div class="conv-title">
          <h2>{title}</h2>
          <p class={`muted${typing.length ? ' typing-preview' : ''}`} data-testid="conv-status">{subtitle}</p>
        </div>
        <button class="icon-button head-search" type="button" aria-label="Search in this conversation" title="Search in this conversation"
                onClick={() => { store.search.scope.value = roomScope(store, room); openSearch(store); }}>
          <svg viewBox="0 0 24 24" width="21" height="21" aria-hidden="true"><circle cx="10.5" cy="10.5" r="6" fill="none" stroke="currentColor" stroke-width="2" /><path d="M15 15l5 5" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" /></svg>
        </button>
      </header>
      <ConnectionBanner store={store} />
      <MessageList key={id} store={store} room={room} editing={editing} handleRef={list}
                   onEdit={setEditing} onEditDone={() => setEditing(null)} onReply={setReplyTo} />
      <div class="typing-line" aria-hidden={typing.length === 0}>
        {typing.length > 0 && <><span class="typing-dots"><i /><i /><i /></span> {room.room.kind === 'dm' ? `${title} is typing…` : typingText(store, room, typing)}</>}
      </div>
      <Composer store={store} room={id} title={title} replyTo={replyTo} onCancelReply={() => setReplyTo(null)} onSend={send}
                onEditLast={() => {
                  const last = [...conv.messages].reverse().find((m) => m.sender_id === meId && m.deleted_at === null);
                  if (last) setEditing(last.id);
                }} />
    </section>
  );
}
