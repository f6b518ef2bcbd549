// app/message_item.tsx: one message in the conversation timeline (header or continuation,
// reply quote, body, edited marker, delivery tick, reactions, thread link, actions: react,
// reply, thread, pin, read by, edit, delete; the edit box is edit_box.tsx), and a pending send
// from the outbox. Kept apart from the list (message_list.tsx) so what a message shows can grow
// (attachments, ...) without touching scrolling.
import { memo } from 'preact/compat';
import { useMemo, useState } from 'preact/hooks';
import type { Id, Message, PendingSend } from '../sdk';
import { MessageAttachments } from './attachments';
import { Avatar } from './avatar';
import { EditBox } from './edit_box';
import { formatBody, messageHtml } from './format_body';
import { dateTimeLabel, timeLabel, type Tick } from './messages';
import { Reactions, ReactButton } from './reactions';
import { errorText, type AppStore } from './store';

export interface ItemProps {
  store: AppStore; room: Id; m: Message;
  dayBreak: string | null;    // a day separator drawn above the message
  divider?: boolean;          // the "New messages" divider drawn above the message
  continued: boolean; mine: boolean;
  editing: boolean; canModerate: boolean; tick: Tick | null; group: boolean; onReply: () => void; onEdit: () => void; onEditDone: () => void;
  highlighted?: boolean;      // just jumped to (search result): briefly marked
  posInSet?: number; setSize?: number;  // the article's place in the feed (-1: unknown size)
}

/**
 * One message as an `article` of the timeline feed: focusable (tabIndex -1; the list moves focus
 * between articles), with its day separator and the "New messages" divider inside it so that
 * the feed holds only articles.
 */
// Sanitized HTML per message object: rows unmount and mount again as the list scrolls, and
// sanitizing is the costliest part of drawing one. Held weakly, so it lives as long as the
// message does in the conversation state (an edit is a new object).
const htmlCache = new WeakMap<Message, string>();
function bodyHtml(m: Message): string {
  let h = htmlCache.get(m);
  if (h === undefined) { h = messageHtml(m); htmlCache.set(m, h); }
  return h;
}

export const MessageItem = memo(MessageItemView, sameItem);

/**
 * Rows are re-rendered whenever the list's range changes while scrolling: an item whose data did
 * not change is skipped. Callbacks are left out of the comparison (the list makes new closures
 * each render that do the same thing for the same message). Signals read while rendering
 * (pins, users) still re-render the item on their own.
 */
function sameItem(a: ItemProps, b: ItemProps): boolean {
  for (const k in b) {
    const key = k as keyof ItemProps;
    if (typeof b[key] !== 'function' && a[key] !== b[key]) return false;
  }
  return true;
}

function MessageItemView({ store, room, m, dayBreak, divider = false, continued, mine, editing, canModerate, tick, group,
                              onReply, onEdit, onEditDone, highlighted = false, posInSet, setSize }: ItemProps) {
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [readBy, setReadBy] = useState<string | null>(null);
  void store.pins.value;
  const pinned = store.isPinned(room, m.id);
  const name = store.displayName(m.sender_id);
  const deleted = m.deleted_at !== null;
  const parent = m.reply_to ? store.findMessage(room, m.reply_to) : undefined;
  const time = timeLabel(m.created_at);
  const iso = new Date(m.created_at).toISOString();
  const html = useMemo(() => (deleted ? '' : bodyHtml(m)), [m, deleted]);

  return (
    <article class="msg-row" tabIndex={-1} data-message-id={m.id}
             aria-posinset={posInSet} aria-setsize={setSize}
             aria-label={`${name}, ${time}${deleted ? ', deleted' : ''}`}>
      {dayBreak && <div class="day" role="separator" aria-label={dayBreak}><span>{dayBreak}</span></div>}
      {divider && <div class="new-divider" role="separator" aria-label="New messages"><span>New messages</span></div>}
      <div class={`msg${continued ? ' continued' : ''}${mine ? ' mine' : ''}${deleted ? ' deleted' : ''}${highlighted ? ' flash' : ''}`}
          data-seq={m.seq} data-testid="message">
        <div class="msg-gutter">
          {continued ? <time class="msg-time-hover" dateTime={iso}>{time}</time>
            : <Avatar id={m.sender_id} name={name} size={36} />}
        </div>
        <div class="msg-main">
          {!continued && (
            <div class="msg-head">
              <strong class="msg-author">{name}</strong>
              <time dateTime={iso}>{time}</time>
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
            <EditBox initial={m.body} onCancel={onEditDone} errorText={errorText}
                     onSave={async (body) => { await store.edit(room, m.id, body); onEditDone(); }} />
          ) : deleted ? (
            <p class="msg-body tombstone">This message was deleted.</p>
          ) : (
            <div class="msg-body-row">
              <div class="msg-body" dangerouslySetInnerHTML={{ __html: html }} />
              {m.edited_at !== null && <span class="edited" title={`Edited ${dateTimeLabel(m.edited_at)}`}>(edited)</span>}
              {tick && <TickMark tick={tick} />}
            </div>
          )}
          {!deleted && <MessageAttachments attachments={m.attachments} />}
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
      </div>
    </article>
  );
}

export function PendingItem({ store, p, posInSet, setSize }: { store: AppStore; p: PendingSend; posInSet?: number; setSize?: number }) {
  const me = store.me.value!;
  const failed = p.state === 'failed';
  return (
    <article class="msg-row" tabIndex={-1} aria-posinset={posInSet} aria-setsize={setSize}
             aria-label={`${me.display_name || me.username}, ${failed ? 'not sent' : 'sending'}`}>
    <div class={`msg mine pending${failed ? ' failed' : ''}`} data-testid="pending-message">
      <div class="msg-gutter"><Avatar id={me.id} name={me.display_name || me.username} size={36} /></div>
      <div class="msg-main">
        <div class="msg-head">
          <strong class="msg-author">{me.display_name || me.username}</strong>
          <span class="muted">{failed ? 'Not sent' : store.connection.value === 'connected' ? 'Sending…' : 'Waiting for connection…'}</span>
        </div>
        <div class="msg-body" dangerouslySetInnerHTML={{ __html: formatBody(p.body) }} />
        <MessageAttachments attachments={p.attachments} />
        {failed && (
          <p class="form-error" role="alert">
            {p.error?.message ?? 'Could not send.'}{' '}
            <button class="link" type="button" onClick={() => store.resend(p.client_txn_id)}>Retry</button>{' '}
            <button class="link" type="button" onClick={() => store.discard(p.client_txn_id)}>Discard</button>
          </p>
        )}
      </div>
    </div>
    </article>
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
