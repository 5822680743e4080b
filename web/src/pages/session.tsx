import { useEffect, useRef, useState } from 'preact/hooks';
import { api, errorText, type EventEnvelope, type Message, type Session } from '../api/client';
import { formatTime, Notice, StatusBadge } from '../components';
import { useSessionEvents } from '../live';
import { SessionActions } from './sessions';
import { Webhooks } from './webhooks';

const KEPT_EVENTS = 50;

export function SessionPage({ name, sandbox }: { name: string; sandbox: boolean }) {
  const [session, setSession] = useState<Session | null>(null);
  const [messages, setMessages] = useState<Message[]>([]);
  const [events, setEvents] = useState<EventEnvelope[]>([]);
  // Where the live stream starts: after the history shown, once it is loaded (kept with its session,
  // so a stream of another session's position is never opened while the page switches sessions).
  const [streamFrom, setStreamFrom] = useState<{ name: string; after: number | 'live' } | null>(null);
  const [qrVersion, setQrVersion] = useState(0);
  const [error, setError] = useState<string | null>(null);

  const loadSession = async () => {
    const { data, error: failure, response } = await api.GET('/api/sessions/{name}', { params: { path: { name } } });
    if (data) setSession(data);
    else setError(errorText(failure, response));
  };
  const loadMessages = async () => {
    const { data } = await api.GET('/api/sessions/{name}/messages', { params: { path: { name }, query: { limit: 20 } } });
    if (data) setMessages(data.items);
  };

  useEffect(() => {
    let current = true;
    setSession(null);
    setEvents([]);
    setStreamFrom(null);
    void loadSession();
    void loadMessages();
    // The recent history first, then the stream from its last sequence: no gap, no duplicate.
    const loadHistory = async () => {
      const { data } = await api.GET('/api/sessions/{name}/events', { params: { path: { name }, query: { last: KEPT_EVENTS } } });
      if (!current) return;
      if (data) {
        setEvents(data.items.slice().reverse());
        setStreamFrom({ name, after: data.nextAfter ?? 0 });
      } else setStreamFrom({ name, after: 'live' }); // no history to continue: at least the events from now on
    };
    void loadHistory();
    return () => {
      current = false;
    };
  }, [name]);

  // Live: every event of the session arrives here; the page reads what it changed.
  const after = streamFrom?.name === name ? streamFrom.after : null;
  useSessionEvents(name, after, (event) => {
    setEvents((list) => [event, ...list].slice(0, KEPT_EVENTS));
    if (event.event === 'session.status') void loadSession();
    if (event.event === 'session.qr') setQrVersion((v) => v + 1);
    if (event.event.startsWith('message.')) {
      void loadMessages();
      void loadSession(); // its sent / received / failed counts
    }
  });

  if (!session) return error ? <Notice error={error} /> : <p>Loading…</p>;

  return (
    <section aria-labelledby="session-title">
      <p>
        <a href="#/">← Sessions</a>
      </p>
      <h1 id="session-title">
        {session.name} <StatusBadge status={session.status} />
      </h1>
      <Notice error={error} />
      <div class="grid">
        <div class="card">
          <h2>Connection</h2>
          <dl>
            <dt>Phone</dt>
            <dd>{session.me?.phone ?? '—'}</dd>
            <dt>Connected since</dt>
            <dd>{formatTime(session.stats.connectedSince)}</dd>
            <dt>Sent / received / failed</dt>
            <dd>
              {session.stats.sent} / {session.stats.received} / {session.stats.failed}
            </dd>
            <dt>Circuit</dt>
            <dd>
              {session.circuit.state} ({session.circuit.failures} failures)
            </dd>
            <dt>Last error</dt>
            <dd>{session.lastError ?? '—'}</dd>
          </dl>
          <SessionActions name={name} onDone={() => void loadSession()} onError={setError} />
        </div>
        {session.status === 'SCAN_QR' && (
          <div class="card">
            <h2>Link a phone</h2>
            <QrCode name={name} version={qrVersion} />
            {sandbox && <FakePhoneScan name={name} onError={setError} />}
            <PairingCode name={name} />
          </div>
        )}
        <div class="card">
          <h2>Send a message</h2>
          <SendText name={name} onSent={() => void loadMessages()} />
        </div>
      </div>
      <div class="card">
        <h2>Recent messages</h2>
        <MessageList messages={messages} />
      </div>
      <div class="card">
        <h2>Live events</h2>
        <EventList events={events} />
      </div>
      <Webhooks name={name} />
    </section>
  );
}

/** The QR as a PNG fetched with the cookie (an <img src> could not ask for image/png), re-read at each rotation. */
function QrCode({ name, version }: { name: string; version: number }) {
  const [url, setUrl] = useState<string | null>(null);
  const current = useRef<string | null>(null);
  useEffect(() => {
    let live = true;
    const load = async () => {
      const res = await fetch(`/api/sessions/${encodeURIComponent(name)}/qr`, { headers: { Accept: 'image/png' }, credentials: 'same-origin' });
      if (!live || !res.ok) return;
      const next = URL.createObjectURL(await res.blob());
      if (current.current) URL.revokeObjectURL(current.current);
      current.current = next;
      setUrl(next);
    };
    void load();
    return () => {
      live = false;
    };
  }, [name, version]);
  useEffect(() => () => (current.current ? URL.revokeObjectURL(current.current) : undefined), []);
  return url ? <img class="qr" src={url} alt={`QR code to link session ${name}: scan it with WhatsApp on the phone`} width={264} height={264} /> : <p>Waiting for the QR…</p>;
}

function FakePhoneScan({ name, onError }: { name: string; onError: (message: string) => void }) {
  const [busy, setBusy] = useState(false);
  const scan = async () => {
    setBusy(true);
    const { error, response } = await api.POST('/api/sandbox/sessions/{name}/scan', { params: { path: { name } }, body: {} });
    setBusy(false);
    if (!response.ok) onError(errorText(error, response));
  };
  return (
    <p>
      <button type="button" onClick={() => void scan()} disabled={busy}>
        Scan with a fake phone
      </button>{' '}
      <span class="hint">(sandbox)</span>
    </p>
  );
}

function PairingCode({ name }: { name: string }) {
  const [phone, setPhone] = useState('');
  const [code, setCode] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    const { data, error: failure, response } = await api.POST('/api/sessions/{name}/pairing-code', { params: { path: { name } }, body: { phoneNumber: phone } });
    if (data?.code) setCode(data.code);
    else setError(errorText(failure, response));
  };
  return (
    <form onSubmit={(e) => void submit(e)} aria-label="Pairing code">
      <label for="pair-phone">Or a pairing code for phone number</label>
      <input id="pair-phone" type="tel" required value={phone} onInput={(e) => setPhone(e.currentTarget.value)} placeholder="+55 11 99999-8888" />
      <button type="submit" class="secondary">
        Get code
      </button>
      {code && (
        <p role="status">
          Code: <strong class="code">{code}</strong>
        </p>
      )}
      <Notice error={error} />
    </form>
  );
}

/** What a file is sent as, by its type: images, videos and audio as such, anything else as a document. */
function mediaType(mimetype: string): 'image' | 'video' | 'audio' | 'document' {
  if (mimetype.startsWith('image/') && mimetype !== 'image/svg+xml') return 'image';
  if (mimetype.startsWith('video/')) return 'video';
  if (mimetype.startsWith('audio/')) return 'audio';
  return 'document';
}

/** The file's bytes as base64 (the API's `media.data`). */
function readBase64(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ''));
    reader.onerror = () => reject(reader.error ?? new Error('could not read the file'));
    reader.readAsDataURL(file);
  });
}

function SendText({ name, onSent }: { name: string; onSent: () => void }) {
  const [to, setTo] = useState('');
  const [text, setText] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    const form = e.currentTarget as HTMLFormElement;
    let body: { to: string; type: 'text' | 'image' | 'video' | 'audio' | 'document'; text?: string; media?: { data: string }; mimetype?: string; filename?: string };
    if (file) {
      const mimetype = file.type || 'application/octet-stream';
      const type = mediaType(mimetype);
      body = { to, type, media: { data: await readBase64(file) }, mimetype, ...(type === 'document' ? { filename: file.name } : {}), ...(text ? { text } : {}) };
    } else body = { to, type: 'text', text };
    const { data, error: failure, response } = await api.POST('/api/sessions/{name}/messages', {
      params: { path: { name }, header: { 'Idempotency-Key': crypto.randomUUID() } },
      body,
    });
    if (data) {
      setStatus(`Accepted (${data.status})`);
      setText('');
      setFile(null);
      form.reset();
      onSent();
    } else setError(errorText(failure, response));
  };
  return (
    <form onSubmit={(e) => void submit(e)} aria-label="Send a message">
      <label for="send-to">To (phone number or chat id)</label>
      <input id="send-to" required value={to} onInput={(e) => setTo(e.currentTarget.value)} />
      <label for="send-text">Text</label>
      <textarea id="send-text" required={!file} rows={3} value={text} onInput={(e) => setText(e.currentTarget.value)} />
      <label for="send-file">File (optional; the text becomes its caption)</label>
      <input id="send-file" type="file" onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)} />
      <button type="submit">Send</button>
      <Notice error={error}>{status}</Notice>
    </form>
  );
}

function MessageList({ messages }: { messages: Message[] }) {
  if (!messages.length) return <p>No message yet.</p>;
  return (
    <div class="table-wrap">
      <table aria-label="Recent messages">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Direction</th>
            <th scope="col">Chat</th>
            <th scope="col">Text</th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {messages.map((m) => (
            <tr key={m.id} data-message-id={m.id}>
              <td>{formatTime(m.createdAt)}</td>
              <td>{m.direction}</td>
              <td>{m.chatId.replace(/@s\.whatsapp\.net$/, '')}</td>
              <td>{m.text ?? `(${m.type})`}</td>
              <td>
                <StatusBadge status={m.status} />
                {m.error ? ` ${m.error}` : ''}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function EventList({ events }: { events: EventEnvelope[] }) {
  if (!events.length) return <p>Events appear here as they happen.</p>;
  return (
    <ol class="events" aria-live="polite" aria-label="Live events">
      {events.map((e) => (
        <li key={e.id}>
          <code>#{e.sequence}</code> <strong>{e.event}</strong> <span class="hint">{new Date(e.timestamp).toLocaleTimeString()}</span>{' '}
          <span class="summary">{summary(e)}</span>
        </li>
      ))}
    </ol>
  );
}

function summary(e: EventEnvelope): string {
  const d = e.data as Record<string, unknown>;
  if (e.event === 'session.status') return `${String(d.previous)} → ${String(d.status)}`;
  if (e.event.startsWith('message.')) return `${String(d.chatId ?? '')} ${String(d.status ?? '')}`;
  return '';
}
