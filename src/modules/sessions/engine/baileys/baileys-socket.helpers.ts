import type { BinaryNode, makeWASocket } from '@whiskeysockets/baileys';

type WASocket = ReturnType<typeof makeWASocket>;

/**
 * Resolves with WhatsApp's answer to the next iq Baileys sends with a
 * generated tag (undefined on timeout). Baileys numbers tags `<prefix><n>`;
 * peeking takes tag n, so the next call inside Baileys gets n+1. Used where
 * rc14 sends an iq without awaiting its answer (requestPairingCode).
 */
export function answerToNextTag(sock: WASocket, timeoutMs: number): Promise<BinaryNode | undefined> {
  const match = /^(.*?)(\d+)$/.exec(sock.generateMessageTag());
  // Unknown tag format (a future Baileys): report success rather than block.
  if (!match) return Promise.resolve({ tag: 'iq', attrs: { type: 'result' } });
  return sock.waitForMessage<BinaryNode>(`${match[1]}${Number(match[2]) + 1}`, timeoutMs);
}

/**
 * Resolves once WhatsApp's server acknowledged the message `waMessageId`
 * (its `<ack class="message">`: the server has it and will deliver it, or
 * keep it for an offline phone); rejects when the ack carries an error, when
 * none comes within `timeoutMs`, or when the socket closes first. Baileys'
 * sendMessage resolves once the frame is written, not acknowledged: a message
 * the server never took would otherwise count as sent. Call it BEFORE sending,
 * so a fast ack is not missed.
 */
export async function serverAck(sock: Pick<WASocket, 'waitForMessage'>, waMessageId: string, timeoutMs: number): Promise<void> {
  const node = await sock.waitForMessage<BinaryNode>(waMessageId, timeoutMs);
  if (!node) throw new Error(`WhatsApp did not acknowledge the message within ${timeoutMs} ms`);
  if (node.tag === 'ack' && node.attrs.error) throw new Error(`WhatsApp refused the message (error ${node.attrs.error})`);
}

export function describeIqError(node: BinaryNode): string {
  const error = Array.isArray(node.content) ? node.content.find((c) => c.tag === 'error') : undefined;
  return error ? `${error.attrs.code ?? '?'} ${error.attrs.text ?? ''}`.trim() : 'error';
}

/** `ABCDEFGH` → `ABCD-EFGH`, as WhatsApp shows it. */
export function formatPairingCode(code: string): string {
  return code.length === 8 ? `${code.slice(0, 4)}-${code.slice(4)}` : code;
}

/**
 * Baileys' end() removes the ws 'close' listeners before closing, so queries
 * in flight never learn of the close and hold the whole socket until their
 * 60 s timeout. They also listen for 'error': emitting it on the dead ws
 * rejects them now (Baileys' own error handler calls end(), a no-op by then).
 */
export function rejectPendingQueries(sock: WASocket): void {
  if (sock.ws.listenerCount('error') > 0) sock.ws.emit('error', new Error('connection closed'));
}

/**
 * Waits until `inFlight()` stays 0 across two macrotasks, or `maxMs` passed.
 * Baileys' post-login work (own LID mapping, session migration) chains key
 * store calls, each starting right after the previous one resolves, so idle
 * across a macrotask means done.
 */
export async function waitForIdle(inFlight: () => number, maxMs: number): Promise<void> {
  const deadline = Date.now() + maxMs;
  const tick = () => new Promise((resolve) => setImmediate(resolve));
  while (Date.now() < deadline) {
    await tick();
    if (inFlight() === 0) {
      await tick();
      if (inFlight() === 0) return;
    } else {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}

