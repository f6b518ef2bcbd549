// app/auth_screen.tsx: sign in and create account.
import { useState } from 'preact/hooks';
import type { AppStore } from './store';
import { errorText } from './store';
import { ParleyError } from '../sdk';

export function AuthScreen({ store }: { store: AppStore }) {
  const [mode, setMode] = useState<'signin' | 'signup'>('signin');
  const [username, setUsername] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(store.notice.value);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (mode === 'signin') await store.signIn(username.trim(), password);
      else await store.signUp(username.trim(), password, displayName.trim());
    } catch (err) {
      if (err instanceof ParleyError && err.code === 'conflict') setError('That username is taken.');
      else if (err instanceof ParleyError && err.code === 'invalid_argument' && mode === 'signup') {
        setError('Usernames are 2–32 letters, digits, dots, dashes or underscores; passwords at least 8 characters.');
      } else if (err instanceof ParleyError && err.code === 'forbidden' && mode === 'signup') {
        setError('Registration is closed on this server. Ask an administrator for an account.');
      } else setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  const signup = mode === 'signup';
  return (
    <main class="auth">
      <div class="auth-card">
        <div class="brand">
          <img src="/icon.svg" alt="" width="40" height="40" />
          <span>Parley</span>
        </div>
        <h1>{signup ? 'Create your account' : 'Welcome back'}</h1>
        <p class="muted">{signup ? 'Join your team’s conversations.' : 'Sign in to pick up where you left off.'}</p>
        <div class="segmented" role="tablist" aria-label="Account">
          <button type="button" role="tab" aria-selected={!signup} onClick={() => { setMode('signin'); setError(null); }}>Sign in</button>
          <button type="button" role="tab" aria-selected={signup} onClick={() => { setMode('signup'); setError(null); }}>Create account</button>
        </div>
        <form onSubmit={submit} class="stack">
          <label>
            <span>Username</span>
            <input name="username" autocomplete="username" autocapitalize="none" spellcheck={false} required
                   minLength={2} maxLength={32} value={username} onInput={(e) => setUsername(e.currentTarget.value)} />
          </label>
          {signup && (
            <label>
              <span>Display name <span class="muted">(optional)</span></span>
              <input name="display_name" autocomplete="name" maxLength={64} value={displayName}
                     onInput={(e) => setDisplayName(e.currentTarget.value)} />
            </label>
          )}
          <label>
            <span>Password</span>
            <input name="password" type="password" autocomplete={signup ? 'new-password' : 'current-password'} required
                   minLength={signup ? 8 : 1} maxLength={256} value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
          </label>
          {error && <p class="form-error" role="alert">{error}</p>}
          <button class="primary big" type="submit" disabled={busy}>
            {busy ? 'Please wait…' : signup ? 'Create account' : 'Sign in'}
          </button>
        </form>
      </div>
    </main>
  );
}
