import { sessionsApi } from '../helpers/sessions-api';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/test-env';

interface MessageBody {
  id: string;
  status: string;
  attempts: number;
  error: string | null;
}

/** How long a send waits for the server's ack in this file's app (15 s in production). */
const ACK_TIMEOUT_MS = 500;

/**
 * Messages the network loses (the sandbox's dropRate: the server never takes
 * them, so it never acks them): a send counts only once WhatsApp's server
 * acknowledged it, so a lost message is a failed attempt, sent again with the
 * same WhatsApp id; one that can never go ends FAILED and its chat goes on.
 */
describe('outbound messages lost on the way (sandbox dropRate, real Baileys)', () => {
  let t: TestApp;
  const key = <R extends { set(name: string, value: string): R }>(r: R) => r.set('X-Api-Key', t.apiKey);
  const send = async (text: string) => {
    const res = await key(t.http.post('/api/sessions/lossy/messages')).send({ to: CONTACT, type: 'text', text });
    expect(res.status).toBe(202);
    return res.body.id as string;
  };
  const getMessage = async (id: string) => (await key(t.http.get(`/api/messages/${id}`))).body as MessageBody;
  const faults = async (body: Record<string, unknown>) => expect((await key(t.http.put('/api/sandbox/faults')).send(body)).status).toBe(200);
  const inboxTexts = async () => ((await key(t.http.get(`/api/sandbox/contacts/${CONTACT}/messages`))).body as Array<{ text: string; copies: number }>).map((m) => [m.text, m.copies]);
  const CONTACT = '5511970009901';

  beforeAll(async () => {
    t = await startTestApp({
      SANDBOX: 'true',
      STATUS_DEBOUNCE_MS: '0',
      HUMANIZE_ENABLED: 'false',
      SEND_ACK_TIMEOUT_MS: String(ACK_TIMEOUT_MS),
      QUEUE_MESSAGE_SEND_ATTEMPTS: '3',
    });
    const api = sessionsApi(t);
    await api.create('lossy');
    await api.pair('lossy', '5511970009900');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('sends a lost message again until the server takes it: one message in the inbox, after several attempts', async () => {
    await faults({ dropRate: 1 });
    const id = await send('lost at first');
    // The first attempt went unacknowledged: a failed attempt, retried (with the same WhatsApp id).
    const retried = await waitFor(async () => {
      const m = await getMessage(id);
      return m.status === 'QUEUED' && m.attempts >= 1 ? m : null;
    }, 'a failed attempt waiting for its retry');
    expect(retried.error).toContain('did not acknowledge');
    await faults({});
    const sent = await waitFor(async () => {
      const m = await getMessage(id);
      return ['SENT', 'DELIVERED', 'READ'].includes(m.status) ? m : null;
    }, 'sent once the network carries it', 20_000);
    expect(sent.attempts).toBeGreaterThanOrEqual(2);
    await waitFor(async () => (await inboxTexts()).length === 1, 'in the inbox');
    expect(await inboxTexts()).toEqual([['lost at first', 1]]);
  });

  it('fails a message that can never go after QUEUE_MESSAGE_SEND_ATTEMPTS, and the chat goes on', async () => {
    await faults({ dropRate: 1 });
    const doomed = await send('never arrives');
    const next = await send('goes after it');
    const failed = await waitFor(async () => {
      const m = await getMessage(doomed);
      return m.status === 'FAILED' ? m : null;
    }, 'the doomed message FAILED', 30_000);
    expect(failed).toMatchObject({ attempts: 3, error: expect.stringContaining('did not acknowledge') });
    await faults({});
    await waitFor(async () => ['SENT', 'DELIVERED', 'READ'].includes((await getMessage(next)).status), 'the next message sent', 20_000);
    await waitFor(async () => (await inboxTexts()).length === 2, 'the next message in the inbox');
    expect(await inboxTexts()).toEqual([
      ['lost at first', 1],
      ['goes after it', 1],
    ]);
  });
});
