// app/conversation.tsx: one room: header, the message timeline (grouped by sender and day,
// infinite scroll back through history keeping the scroll position, jump to latest), pending
// sends from the outbox, reply / edit / delete of messages, and the composer.
import { Fragment } from 'preact';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { Id, Message, PendingSend, RoomSummary } from '../sdk';
import { Avatar, PresenceDot } from './avatar';
import { Composer } from './composer';
import { ConnectionBanner } from './connection_badge';
import { formatBody } from './format_body';
import { lastSeenText, layoutRows, timeLabel, type Tick } from './messages';
import { Reactions, ReactButton } from './reactions';
import { typingText } from './sidebar';
import { errorText, type AppStore } from './store';

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

  useEffect(() => { setReplyTo(null); setEditing(null); stick.current = true; }, [id]);

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

  const onScroll = () => {
    const el = scroller.current!;
    const near = el.scrollHeight - el.scrollTop - el.clientHeight < kNearBottomPx;
    stick.current = near;
    setAtBottom(near);
    anchor.current = { ...anchor.current, height: el.scrollHeight, top: el.scrollTop };
    if (el.scrollTop < 400 && conv.hasMoreBefore && !conv.loading && conv.loaded) void store.loadOlder(id);
  };

  // History shorter than the viewport: keep loading until it scrolls (or the start is reached).
  useEffect(() => {
    const el = scroller.current;
    if (el && conv.loaded && !conv.loading && conv.hasMoreBefore && el.scrollHeight <= el.clientHeight) void store.loadOlder(id);
  }, [conv.loaded, conv.loading, conv.hasMoreBefore, id]);

  const jumpToLatest = () => {
    const el = scroller.current!;
    stick.current = true;
    el.scrollTo({ top: el.scrollHeight, behavior: 'smooth' });
  };

  const send = (body: string) => {
    stick.current = true;
    store.send(id, body, replyTo?.id ?? null);
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
      {!atBottom && (
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

interface ItemProps {
  store: AppStore; room: Id; m: Message; dayBreak: string | null; continued: boolean; mine: boolean;
  editing: boolean; canModerate: boolean; tick: Tick | null; group: boolean; onReply: () => void; onEdit: () => void; onEditDone: () => void;
}

function MessageItem({ store, room, m, dayBreak, continued, mine, editing, canModerate, tick, group, onReply, onEdit, onEditDone }: ItemProps) {
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [readBy, setReadBy] = useState<string | null>(null);
  void store.pins.value;
  const pinned = store.isPinned(room, m.id);
  const name = store.displayName(m.sender_id);
  const deleted = m.deleted_at !== null;
  const parent = m.reply_to ? store.findMessage(room, m.reply_to) : undefined;
  const html = useMemo(() => (deleted ? '' : formatBody(m.body)), [m.body, deleted]);

  return (
    <>
      {dayBreak && <li class="day"><span>{dayBreak}</span></li>}
      <li class={`msg${continued ? ' continued' : ''}${mine ? ' mine' : ''}${deleted ? ' deleted' : ''}`}
          data-seq={m.seq} data-testid="message" tabIndex={-1}>
        <div class="msg-gutter">
          {continued ? <time class="msg-time-hover" dateTime={new Date(m.created_at).toISOString()}>{timeLabel(m.created_at)}</time>
            : <Avatar id={m.sender_id} name={name} size={36} />}
        </div>
        <div class="msg-main">
          {!continued && (
            <div class="msg-head">
              <strong class="msg-author">{name}</strong>
              <time dateTime={new Date(m.created_at).toISOString()}>{timeLabel(m.created_at)}</time>
              {pinned && <span class="pinned-mark" data-testid="pinned">Pinned</span>}
            </div>
          )}
          {m.reply_to && (
            <div class="reply-quote">
              <span class="reply-author">{parent ? store.displayName(parent.sender_id) : 'Reply'}</span>
              <span class="reply-text">{parent ? (parent.deleted_at !== null ? 'Message deleted' : parent.body.slice(0, 160)) : 'Original message not loaded'}</span>
            </div>
          )}
          {editing ? (
            <EditBox initial={m.body} onCancel={onEditDone} onSave={async (body) => {
              try { await store.edit(room, m.id, body); onEditDone(); } catch (e) { setError(errorText(e)); }
            }} />
          ) : deleted ? (
            <p class="msg-body tombstone">This message was deleted.</p>
          ) : (
            <div class="msg-body-row">
              <div class="msg-body" dangerouslySetInnerHTML={{ __html: html }} />
              {m.edited_at !== null && <span class="edited" title={`Edited ${new Date(m.edited_at).toLocaleString()}`}>(edited)</span>}
              {tick && <TickMark tick={tick} />}
            </div>
          )}
          {!deleted && <Reactions store={store} room={room} m={m} />}
          {m.thread && m.thread.reply_count > 0 && (
            <button type="button" class="thread-link" onClick={() => void store.openThread(room, m)}>
              {m.thread.reply_count} {m.thread.reply_count === 1 ? 'reply' : 'replies'}
              {m.thread.last_reply_at && <span class="muted"> · last {timeLabel(m.thread.last_reply_at)}</span>}
            </button>
          )}
          {readBy !== null && <ReadBy store={store} text={readBy} onClose={() => setReadBy(null)} />}
          {error && <p class="form-error" role="alert">{error}</p>}
        </div>
        {!deleted && !editing && (
          <div class="msg-actions" role="toolbar" aria-label={`Actions for message from ${name}`}>
            <ReactButton store={store} room={room} m={m} />
            <button type="button" onClick={onReply} aria-label="Reply">Reply</button>
            {!m.thread_root && <button type="button" onClick={() => void store.openThread(room, m)} title="Reply in thread">Thread</button>}
            <button type="button" onClick={() => void store.setPinned(room, m.id, !pinned)}>{pinned ? 'Unpin' : 'Pin'}</button>
            {mine && group && <button type="button" onClick={async () => {
              try {
                const r = await store.receipts(room, m.id);
                const names = (ids: string[]) => ids.map((x) => store.displayName(x)).join(', ');
                const unreadOnly = r.delivered_to.filter((x) => !r.read_by.includes(x));
                setReadBy(r.read_count === 0 && r.delivered_count === 0 ? 'Not delivered to anyone yet.'
                  : `Read by ${r.read_count}${r.read_count ? `: ${names(r.read_by)}` : ''}` +
                    (unreadOnly.length ? ` · Delivered to ${names(unreadOnly)}` : ''));
              } catch (e) { setError(errorText(e)); }
            }}>Read by</button>}
            {mine && <button type="button" onClick={onEdit} aria-label="Edit">Edit</button>}
            {(mine || canModerate) && (confirming ? (
              <>
                <button type="button" class="danger" onClick={async () => {
                  try { await store.remove(room, m.id); } catch (e) { setError(errorText(e)); }
                  setConfirming(false);
                }}>Confirm delete</button>
                <button type="button" onClick={() => setConfirming(false)}>Cancel</button>
              </>
            ) : (
              <button type="button" onClick={() => setConfirming(true)} aria-label="Delete">Delete</button>
            ))}
          </div>
        )}
      </li>
    </>
  );
}

function EditBox({ initial, onSave, onCancel }: { initial: string; onSave: (b: string) => void; onCancel: () => void }) {
  const [text, setText] = useState(initial);
  const ref = useRef<HTMLTextAreaElement>(null);
  useEffect(() => { const t = ref.current!; t.focus(); t.setSelectionRange(t.value.length, t.value.length); }, []);
  // Save what the textarea holds now: a key press can arrive before the re-render that follows
  // the last input event, while `text` still holds the previous value.
  const save = () => { const v = ref.current?.value ?? text; if (v.trim()) onSave(v); };
  return (
    <form class="edit-box" onSubmit={(e) => { e.preventDefault(); save(); }}>
      <textarea ref={ref} aria-label="Edit message" value={text} rows={2} onInput={(e) => setText(e.currentTarget.value)}
                onKeyDown={(e) => {
                  if (e.key === 'Escape') { e.preventDefault(); onCancel(); }
                  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); save(); }
                }} />
      <div class="edit-actions">
        <span class="muted">Escape to cancel · Enter to save</span>
        <button type="button" class="ghost" onClick={onCancel}>Cancel</button>
        <button type="submit" class="primary">Save</button>
      </div>
    </form>
  );
}

function PendingItem({ store, p }: { store: AppStore; p: PendingSend }) {
  const me = store.me.value!;
  const failed = p.state === 'failed';
  return (
    <li class={`msg mine pending${failed ? ' failed' : ''}`} data-testid="pending-message">
      <div class="msg-gutter"><Avatar id={me.id} name={me.display_name || me.username} size={36} /></div>
      <div class="msg-main">
        <div class="msg-head">
          <strong class="msg-author">{me.display_name || me.username}</strong>
          <span class="muted">{failed ? 'Not sent' : store.connection.value === 'connected' ? 'Sending…' : 'Waiting for connection…'}</span>
        </div>
        <div class="msg-body" dangerouslySetInnerHTML={{ __html: formatBody(p.body) }} />
        {failed && (
          <p class="form-error" role="alert">
            {p.error?.message ?? 'Could not send.'}{' '}
            <button class="link" type="button" onClick={() => store.resend(p.client_txn_id)}>Retry</button>{' '}
            <button class="link" type="button" onClick={() => store.discard(p.client_txn_id)}>Discard</button>
          </p>
        )}
      </div>
    </li>
  );
}

const kTickLabel: Record<Tick, string> = { sent: 'Sent', delivered: 'Delivered', read: 'Read' };

function TickMark({ tick }: { tick: Tick }) {
  return (
    <span class={`tick ${tick}`} data-tick={tick} title={kTickLabel[tick]} role="img" aria-label={kTickLabel[tick]}>
      <svg viewBox="0 0 20 12" width="18" height="12" aria-hidden="true">
        <path d="M1 6.5l3.5 3.5L11 2" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" />
        {tick !== 'sent' && <path d="M8 9.5l.5.5L15 2" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" />}
      </svg>
    </span>
  );
}

function ReadBy({ text, onClose }: { store: AppStore; text: string; onClose: () => void }) {
  return (
    <p class="read-by" role="status" data-testid="read-by">{text}
      <button class="link" type="button" onClick={onClose} aria-label="Close read receipts">Close</button>
    </p>
  );
}
