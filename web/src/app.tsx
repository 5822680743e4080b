import { useEffect, useState } from 'preact/hooks';
import { api, errorText, setUnauthorizedHandler } from './api/client';
import { Overview } from './pages/overview';
import { SessionPage } from './pages/session';
import { SessionsPage } from './pages/sessions';
import { useRoute } from './router';

type Auth = 'checking' | 'signed-out' | 'signed-in';

export function App() {
  const [auth, setAuth] = useState<Auth>('checking');
  const [sandbox, setSandbox] = useState(false);
  const route = useRoute();

  /** True when the API answers as signed in. */
  const load = async (): Promise<boolean> => {
    const { data, response } = await api.GET('/api/dashboard');
    if (data) {
      setSandbox(data.sandbox);
      setAuth('signed-in');
      return true;
    }
    setAuth(response.status === 401 ? 'signed-out' : 'signed-in');
    return response.status !== 401;
  };

  useEffect(() => {
    setUnauthorizedHandler(() => setAuth('signed-out'));
    void load();
  }, []);

  if (auth === 'checking') return <p class="loading">Loading…</p>;
  if (auth === 'signed-out') return <SignIn onSignedIn={load} />;

  const signOut = async () => {
    await api.DELETE('/api/auth/session');
    setAuth('signed-out');
  };

  return (
    <>
      <header class="top">
        <span class="brand">ZapHub</span>
        <nav aria-label="Main">
          <a href="#/" aria-current={route.page !== 'overview' ? 'page' : undefined}>Sessions</a>
          <a href="#/overview" aria-current={route.page === 'overview' ? 'page' : undefined}>Overview</a>
          <a href="/admin/queues">Queues</a>
        </nav>
        <button type="button" class="secondary" onClick={() => void signOut()}>
          Sign out
        </button>
      </header>
      <main>
        {route.page === 'sessions' && <SessionsPage />}
        {route.page === 'session' && <SessionPage name={route.name} sandbox={sandbox} />}
        {route.page === 'overview' && <Overview />}
      </main>
    </>
  );
}

function SignIn({ onSignedIn }: { onSignedIn: () => Promise<boolean> }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const { error: failure, response } = await api.POST('/api/auth/session', { body: { apiKey: key } });
    setBusy(false);
    if (response.status !== 204) setError(response.status === 401 ? 'Wrong API key' : errorText(failure, response));
    else if (!(await onSignedIn())) {
      // The cookie is Secure except over plain HTTP on loopback: a browser on plain HTTP elsewhere drops it.
      setError('Signed in, but the browser did not keep the session cookie: open ZapHub over HTTPS (or at http://127.0.0.1 on its own machine).');
    }
  };
  return (
    <main class="signin">
      <h1>ZapHub</h1>
      <form onSubmit={(e) => void submit(e)}>
        <label for="api-key">API key</label>
        <input id="api-key" name="apiKey" type="password" autocomplete="current-password" required value={key} onInput={(e) => setKey(e.currentTarget.value)} />
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        {error && (
          <p role="alert" class="error">
            {error}
          </p>
        )}
      </form>
      <p class="hint">The key is the API_KEY of this ZapHub (scripts/dev.sh prints it). It is exchanged for a session cookie.</p>
    </main>
  );
}
