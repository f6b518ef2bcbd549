// app/connection_badge.tsx: the visible connection state (sidebar) and the offline banner
// (conversation), both announced politely via role="status".
import { useEffect, useState } from 'preact/hooks';
import type { AppStore } from './store';

export function ConnectionBadge({ store }: { store: AppStore }) {
  const state = store.connection.value;
  const label = state === 'connected' ? 'Connected'
    : state === 'offline' ? 'Offline'
    : state === 'waiting' ? 'Reconnecting…'
    : state === 'ended' ? 'Signed out' : 'Connecting…';
  return (
    <span class={`conn conn-${state}`} role="status" aria-live="polite" title={label}>
      <span class="conn-dot" aria-hidden="true" />
      <span class="conn-label">{label}</span>
    </span>
  );
}

export function ConnectionBanner({ store }: { store: AppStore }) {
  const state = store.connection.value;
  const retryAt = store.retryAt.value;
  const [, tick] = useState(0);
  useEffect(() => {
    if (state !== 'waiting') return;
    const t = setInterval(() => tick((n) => n + 1), 1000);
    return () => clearInterval(t);
  }, [state]);
  if (state === 'connected' || state === 'idle' || state === 'connecting') return null;
  const queued = store.gateway?.outbox.size ?? 0;
  void store.outboxVersion.value;
  let text: string;
  if (state === 'offline') text = 'You are offline.';
  else if (state === 'waiting') {
    const s = retryAt ? Math.max(0, Math.ceil((retryAt - Date.now()) / 1000)) : 0;
    text = s > 0 ? `Connection lost. Reconnecting in ${s}s…` : 'Reconnecting…';
  } else text = 'Disconnected.';
  if (queued > 0) text += ` ${queued} message${queued === 1 ? '' : 's'} will be sent when you are back.`;
  return (
    <div class="banner" role="status">
      <span>{text}</span>
      {state === 'waiting' && <button class="link" type="button" onClick={() => store.retryConnection()}>Retry now</button>}
    </div>
  );
}
