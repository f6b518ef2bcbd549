// app/conversation.tsx: one room: header, the message timeline (grouped by sender and day,
// infinite scroll back through history keeping the scroll position, jump to latest), pending
// sends from the outbox, reply / edit / delete of messages, and the composer.
import { Fragment } from 'preact';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { Attachment, Id, Message, RoomSummary } from '../sdk';
import { Avatar, PresenceDot } from './avatar';
import { Composer } from './composer';
import { ConnectionBanner } from './connection_badge';
import { lastSeenText, layoutRows } from './messages';
import { MessageItem, PendingItem } from './message_item';
import { openSearch, roomScope } from './search_panel';
import { typingText } from './sidebar';
import type { AppStore } from './store';

const kNearBottomPx = 120;

export function Conversation({ store, room, onBack }: { store: AppStore; room: RoomSummary; onBack: () => void }) {
  const id = room.room.id;
  const conv = store.conv(id);
  const pending = store.pending(id);
  const meId = store.me.value?.id;
  void store.users.value;
  const title = store.roomTitle(room);
  const [replyTo, setReplyTo] = useState<Message | null>(null);
  const [editing, setEditing] = useState<Id | null>(null);
  const [atBottom, setAtBottom] = useState(true);
  const scroller = useRef<HTMLDivElement>(null);
  const anchor = useRef<{ firstId: string | null; height: number; top: number }>({ firstId: null, height: 0, top: 0 });
  const stick = useRef(true);
  const smoothJump = useRef(false); // "Jump to latest" is scrolling: its scroll events do not unstick

  // No reset of replyTo/editing on a room change: App keys Conversation by room id, so each
  // room gets fresh state. (A reset in a deferred effect could close an edit box opened within
  // the first frame.)

  const rows = useMemo(() => layoutRows(conv.messages), [conv.messages]);
  const divider = store.dividerAfter(id);
  const firstNew = rows.find((r) => r.message.seq > divider && r.message.sender_id !== meId)?.message.id ?? null;
  // Pending sends whose echo has not arrived yet (the outbox drops them on echo or ack).
  const shownPending = pending.filter((p) => !conv.messages.some((m) => m.client_txn_id === p.client_txn_id && m.sender_id === meId));

  // Keep the view anchored: at the bottom when it was there; on the same message when older
  // history was prepended above.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const a = anchor.current;
    const first = conv.messages[0]?.id ?? null;
    if (stick.current) {
      el.scrollTop = el.scrollHeight;
    } else if (a.firstId && first !== a.firstId) {
      el.scrollTop = a.top + (el.scrollHeight - a.height);
    }
    anchor.current = { firstId: first, height: el.scrollHeight, top: el.scrollTop };
  }, [conv.messages, shownPending.length, id]);

  // A jump (store.jumpTo, e.g. from search): scroll the message to the middle and flash it.
  useLayoutEffect(() => {
    const el = scroller.current;
    const target = conv.focus && el?.querySelector<HTMLElement>(`[data-message-id="${conv.focus.id}"]`);
    if (!el || !target) return;
    stick.current = false;
    setAtBottom(false);
    target.scrollIntoView({ block: 'center' });
    anchor.current = { ...anchor.current, height: el.scrollHeight, top: el.scrollTop };
    target.classList.remove('flash');
    void target.offsetWidth; // restart the animation when the same message is chosen again
    target.classList.add('flash');
    store.focusDone(id);
  }, [conv.focus, conv.messages]);

  const onScroll = () => {
    const el = scroller.current!;
    const near = el.scrollHeight - el.scrollTop - el.clientHeight < kNearBottomPx;
    if (smoothJump.current && !near) return;
    smoothJump.current = false;
    // In a window of the past (after a jump) the bottom is not the live end: load newer instead.
    stick.current = near && !conv.hasMoreAfter;
    setAtBottom(near && !conv.hasMoreAfter);
    anchor.current = { ...anchor.current, height: el.scrollHeight, top: el.scrollTop };
    if (el.scrollTop < 400 && conv.hasMoreBefore && !conv.loading && conv.loaded) void store.loadOlder(id);
    if (el.scrollHeight - el.scrollTop - el.clientHeight < 400 && conv.hasMoreAfter && !conv.loading) void store.loadNewer(id);
  };

  // History shorter than the viewport: keep loading until it scrolls (or the start is reached).
  useEffect(() => {
    const el = scroller.current;
    if (el && conv.loaded && !conv.loading && conv.hasMoreBefore && el.scrollHeight <= el.clientHeight) void store.loadOlder(id);
  }, [conv.loaded, conv.loading, conv.hasMoreBefore, id]);

  const jumpToLatest = () => {
    const el = scroller.current!;
    stick.current = true;
    if (conv.hasMoreAfter) { setAtBottom(true); void store.loadLatest(id); return; }
    smoothJump.current = true;
    el.scrollTo({ top: el.scrollHeight, behavior: 'smooth' });
  };

  const send = (body: string, attachments: Attachment[]) => {
    stick.current = true;
    store.send(id, body, replyTo?.id ?? null, attachments);
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
      <div class="timeline" ref={scroller} onScroll={onScroll} tabIndex={0} role="region" aria-label="Messages">
        <div class="timeline-inner">
          {conv.loaded && !conv.hasMoreBefore && (
            <div class="timeline-start">
              <Avatar id={room.room.kind === 'dm' ? room.dm_peer_id ?? id : id} name={title} size={56} group={room.room.kind === 'group'} />
              <h3>{title}</h3>
              <p class="muted">{room.room.kind === 'dm' ? `This is the beginning of your conversation with ${title}.` : `This is the beginning of ${title}.`}</p>
            </div>
          )}
          {conv.loading && <div class="loading" role="status">Loading messages…</div>}
          {conv.error && <div class="form-error" role="alert">{conv.error} <button class="link" type="button" onClick={() => void store.loadLatest(id)}>Try again</button></div>}
          <ol class="messages" aria-label="Message list">
            {rows.map((r) => (<Fragment key={r.message.id}>
              {r.message.id === firstNew && <li class="new-divider" role="separator" aria-label="New messages"><span>New messages</span></li>}
              <MessageItem store={store} room={id} m={r.message} dayBreak={r.dayBreak} continued={r.continued && r.message.id !== firstNew}
                           mine={r.message.sender_id === meId} editing={editing === r.message.id}
                           tick={store.tick(room, r.message)} group={room.room.kind === 'group'}
                           onReply={() => setReplyTo(r.message)} onEdit={() => setEditing(r.message.id)}
                           onEditDone={() => setEditing(null)} canModerate={room.role !== 'member' && room.room.kind === 'group'} />
            </Fragment>))}
            {shownPending.map((p) => <PendingItem key={p.client_txn_id} store={store} p={p} />)}
          </ol>
        </div>
      </div>
      <div class="typing-line" aria-hidden={typing.length === 0}>
        {typing.length > 0 && <><span class="typing-dots"><i /><i /><i /></span> {room.room.kind === 'dm' ? `${title} is typing…` : typingText(store, room, typing)}</>}
      </div>
      {(!atBottom || conv.hasMoreAfter) && (
        <button class="jump" type="button" onClick={jumpToLatest}>Jump to latest ↓</button>
      )}
      <Composer store={store} room={id} title={title} replyTo={replyTo} onCancelReply={() => setReplyTo(null)} onSend={send}
                onEditLast={() => {
                  const last = [...conv.messages].reverse().find((m) => m.sender_id === meId && m.deleted_at === null);
                  if (last) setEditing(last.id);
                }} />
    </section>
  );
}
