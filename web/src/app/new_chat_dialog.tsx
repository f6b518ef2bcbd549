// app/new_chat_dialog.tsx: start a DM or a group by searching users (GET /users?q=). A modal
// <dialog> (focus trapped by the browser, Escape closes).
import { useEffect, useRef, useState } from 'preact/hooks';
import type { User } from '../sdk';
import { Avatar } from './avatar';
import { errorText, type AppStore } from './store';

export function NewChatDialog({ store, onClose }: { store: AppStore; onClose: (room: string | null) => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [mode, setMode] = useState<'dm' | 'group'>('dm');
  const [q, setQ] = useState('');
  const [results, setResults] = useState<User[]>([]);
  const [picked, setPicked] = useState<User[]>([]);
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const me = store.me.value!;

  useEffect(() => {
    const d = ref.current!;
    d.showModal();
    const close = () => onClose(null);
    d.addEventListener('cancel', close);
    return () => d.removeEventListener('cancel', close);
  }, []);

  useEffect(() => {
    let live = true;
    const t = setTimeout(async () => {
      try {
        const r = await store.rest.searchUsers(q.trim(), 20);
        if (live) setResults(r.users.filter((u) => u.id !== me.id));
      } catch (e) {
        if (live) setError(errorText(e));
      }
    }, q ? 150 : 0);
    return () => { live = false; clearTimeout(t); };
  }, [q]);

  const startDm = async (u: User) => {
    setBusy(true);
    try { onClose(await store.openDm(u.id)); } catch (e) { setError(errorText(e)); setBusy(false); }
  };

  const createGroup = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try { onClose(await store.createGroup(name.trim(), picked.map((u) => u.id))); } catch (err) { setError(errorText(err)); setBusy(false); }
  };

  const toggle = (u: User) =>
    setPicked((p) => (p.some((x) => x.id === u.id) ? p.filter((x) => x.id !== u.id) : [...p, u]));

  return (
    <dialog ref={ref} class="dialog" aria-labelledby="new-chat-title">
      <header class="dialog-head">
        <h2 id="new-chat-title">New conversation</h2>
        <button class="icon-button" type="button" aria-label="Close" onClick={() => onClose(null)}>
          <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true"><path d="M6 6l12 12M18 6L6 18" stroke="currentColor" stroke-width="2" stroke-linecap="round" /></svg>
        </button>
      </header>
      <div class="segmented" role="tablist" aria-label="Conversation type">
        <button type="button" role="tab" aria-selected={mode === 'dm'} onClick={() => setMode('dm')}>Direct message</button>
        <button type="button" role="tab" aria-selected={mode === 'group'} onClick={() => setMode('group')}>Group</button>
      </div>
      <form class="stack" onSubmit={createGroup}>
        {mode === 'group' && (
          <label>
            <span>Group name</span>
            <input name="group_name" required maxLength={80} value={name} onInput={(e) => setName(e.currentTarget.value)}
                   placeholder="e.g. design-review" />
          </label>
        )}
        <label>
          <span>{mode === 'dm' ? 'Find a person' : 'Add people'}</span>
          <input type="search" name="user_search" value={q} autocomplete="off" placeholder="Search by name or username"
                 onInput={(e) => setQ(e.currentTarget.value)} />
        </label>
        {mode === 'group' && picked.length > 0 && (
          <ul class="chips" aria-label="Selected people">
            {picked.map((u) => (
              <li key={u.id}><button type="button" class="chip" onClick={() => toggle(u)} aria-label={`Remove ${u.display_name || u.username}`}>
                {u.display_name || u.username} <span aria-hidden="true">×</span></button></li>
            ))}
          </ul>
        )}
        <ul class="people" aria-label="People">
          {results.length === 0 && <li class="muted pad">No people found.</li>}
          {results.map((u) => {
            const sel = picked.some((x) => x.id === u.id);
            return (
              <li key={u.id}>
                <button type="button" class={`person${sel ? ' selected' : ''}`} disabled={busy}
                        aria-pressed={mode === 'group' ? sel : undefined}
                        onClick={() => (mode === 'dm' ? void startDm(u) : toggle(u))}>
                  <Avatar id={u.id} name={u.display_name || u.username} size={32} />
                  <span class="person-text"><strong>{u.display_name || u.username}</strong><span class="muted">@{u.username}</span></span>
                  {mode === 'group' && <span class="check" aria-hidden="true">{sel ? '✓' : ''}</span>}
                </button>
              </li>
            );
          })}
        </ul>
        {error && <p class="form-error" role="alert">{error}</p>}
        {mode === 'group' && (
          <button class="primary big" type="submit" disabled={busy || !name.trim()}>
            Create group{picked.length ? ` with ${picked.length} ${picked.length === 1 ? 'person' : 'people'}` : ''}
          </button>
        )}
      </form>
    </dialog>
  );
}
