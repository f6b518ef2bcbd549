// app/settings_dialog.tsx: account settings: profile (display name), password, privacy (read
// receipts, invisible) and sessions (every signed-in device, revoke the others).
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Session } from '../sdk';
import { shortWhen } from './messages';
import { errorText, type AppStore } from './store';

type Tab = 'profile' | 'privacy' | 'sessions' | 'password';
const kTabs: Array<[Tab, string]> = [['profile', 'Profile'], ['privacy', 'Privacy'], ['sessions', 'Sessions'], ['password', 'Password']];

export function SettingsDialog({ store, onClose }: { store: AppStore; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [tab, setTab] = useState<Tab>('profile');
  useEffect(() => {
    const d = ref.current!;
    d.showModal();
    d.addEventListener('cancel', onClose);
    return () => d.removeEventListener('cancel', onClose);
  }, []);
  return (
    <dialog ref={ref} class="dialog settings" aria-labelledby="settings-title">
      <header class="dialog-head">
        <h2 id="settings-title">Settings</h2>
        <button class="icon-button" type="button" aria-label="Close" onClick={onClose}>
          <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true"><path d="M6 6l12 12M18 6L6 18" stroke="currentColor" stroke-width="2" stroke-linecap="round" /></svg>
        </button>
      </header>
      <div class="segmented" role="tablist" aria-label="Settings sections">
        {kTabs.map(([t, label]) => (
          <button key={t} type="button" role="tab" id={`tab-${t}`} aria-selected={tab === t} aria-controls={`panel-${t}`}
                  class={tab === t ? 'on' : ''} onClick={() => setTab(t)}>{label}</button>
        ))}
      </div>
      <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`} class="settings-panel">
        {tab === 'profile' && <Profile store={store} />}
        {tab === 'privacy' && <Privacy store={store} />}
        {tab === 'sessions' && <Sessions store={store} />}
        {tab === 'password' && <Password store={store} />}
      </div>
    </dialog>
  );
}

function useStatus() {
  const [status, setStatus] = useState<{ ok: boolean; text: string } | null>(null);
  return [status, setStatus] as const;
}

function StatusLine({ status }: { status: { ok: boolean; text: string } | null }) {
  if (!status) return null;
  return <p class={status.ok ? 'form-ok' : 'form-error'} role={status.ok ? 'status' : 'alert'}>{status.text}</p>;
}

function Profile({ store }: { store: AppStore }) {
  const me = store.me.value!;
  const [name, setName] = useState(me.display_name);
  const [status, setStatus] = useStatus();
  return (
    <form class="stack" onSubmit={async (e) => {
      e.preventDefault();
      try { await store.updateProfile(name.trim()); setStatus({ ok: true, text: 'Display name saved.' }); }
      catch (err) { setStatus({ ok: false, text: errorText(err) }); }
    }}>
      <label>Display name<input value={name} maxLength={64} onInput={(e) => setName(e.currentTarget.value)} /></label>
      <p class="muted">Your username is @{me.username}; it cannot be changed.</p>
      <button class="primary" type="submit" disabled={!name.trim() || name.trim() === me.display_name}>Save</button>
      <StatusLine status={status} />
    </form>
  );
}

function Privacy({ store }: { store: AppStore }) {
  const me = store.me.value!;
  const [status, setStatus] = useStatus();
  const set = async (p: { read_receipts?: boolean; invisible?: boolean }) => {
    try { await store.updatePrivacy(p); setStatus({ ok: true, text: 'Saved.' }); }
    catch (err) { setStatus({ ok: false, text: errorText(err) }); }
  };
  return (
    <div class="stack">
      <label class="switch-row">
        <input type="checkbox" role="switch" checked={me.read_receipts !== false} onChange={(e) => void set({ read_receipts: e.currentTarget.checked })} />
        <span><strong>Send read receipts</strong><span class="muted">When off, others do not see when you have read their messages.</span></span>
      </label>
      <label class="switch-row">
        <input type="checkbox" role="switch" checked={me.invisible === true} onChange={(e) => void set({ invisible: e.currentTarget.checked })} />
        <span><strong>Appear offline</strong><span class="muted">You look offline to everyone and your “last seen” does not change.</span></span>
      </label>
      <StatusLine status={status} />
    </div>
  );
}

function Sessions({ store }: { store: AppStore }) {
  const [list, setList] = useState<Session[] | null>(null);
  const [status, setStatus] = useStatus();
  const load = () => store.rest.sessions().then(setList, (e) => setStatus({ ok: false, text: errorText(e) }));
  useEffect(() => { void load(); }, []);
  if (!list) return <p class="muted" role="status">Loading sessions…</p>;
  return (
    <div class="stack">
      <ul class="session-list" aria-label="Signed-in devices">
        {[...list].sort((a, b) => Number(b.current) - Number(a.current) || b.last_used - a.last_used).map((s) => (
          <li key={s.id} data-testid="session">
            <span>
              <strong>{s.device || 'Unknown device'}</strong>
              <span class="muted">{s.current ? 'This device' : `Last active ${shortWhen(s.last_used)}`} · signed in {new Date(s.created_at).toLocaleDateString()}</span>
            </span>
            {!s.current && (
              <button class="ghost danger" type="button" aria-label={`Sign out ${s.device || 'device'}`} onClick={async () => {
                try { await store.rest.revokeSession(s.id); setStatus({ ok: true, text: 'Signed out that device.' }); await load(); }
                catch (e) { setStatus({ ok: false, text: errorText(e) }); }
              }}>Sign out</button>
            )}
          </li>
        ))}
      </ul>
      <StatusLine status={status} />
    </div>
  );
}

function Password({ store }: { store: AppStore }) {
  const [old, setOld] = useState('');
  const [next, setNext] = useState('');
  const [status, setStatus] = useStatus();
  const tooShort = next.length > 0 && next.length < 8;
  return (
    <form class="stack" onSubmit={async (e) => {
      e.preventDefault();
      try {
        await store.rest.changePassword(old, next);
        setOld(''); setNext('');
        setStatus({ ok: true, text: 'Password changed. Your other devices were signed out.' });
      } catch (err) {
        const forbidden = err instanceof Error && (err as { code?: string }).code === 'forbidden';
        setStatus({ ok: false, text: forbidden ? 'The current password is wrong.' : errorText(err) });
      }
    }}>
      <label>Current password<input type="password" autocomplete="current-password" value={old} onInput={(e) => setOld(e.currentTarget.value)} /></label>
      <label>New password<input type="password" autocomplete="new-password" value={next} minLength={8} onInput={(e) => setNext(e.currentTarget.value)} /></label>
      {tooShort && <p class="muted">At least 8 characters.</p>}
      <button class="primary" type="submit" disabled={!old || next.length < 8}>Change password</button>
      <StatusLine status={status} />
    </form>
  );
}
