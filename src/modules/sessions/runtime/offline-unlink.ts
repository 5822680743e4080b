import type { AuthStateStore, EngineDisconnect, WhatsAppEngine } from '../engine/whatsapp-engine.port';

type Outcome = { kind: 'open' } | { kind: 'qr' } | { kind: 'close'; disconnect: EngineDisconnect } | { kind: 'timeout' };

export interface UnlinkOptions {
  engine: WhatsAppEngine;
  auth: AuthStateStore;
  sessionId: string;
  sessionName: string;
  /** Bounds the whole unlink, the auth-state load included. */
  timeoutMs: number;
  /** Closing a socket that arrived after the timeout failed (nobody awaits it any more). */
  onLateFailure(error: unknown): void;
}

/**
 * Removes a session's linked device at WhatsApp when no socket is open: it
 * connects with the stored credentials, sends the logout (remove-companion-
 * device) and closes. Resolves when there is nothing left to unlink (done,
 * never paired, or WhatsApp already logged it out); rejects when WhatsApp could
 * not be reached, so the caller can retry before wiping the credentials.
 */
export async function unlinkWithStoredCredentials(options: UnlinkOptions): Promise<'unlinked' | 'nothing-to-unlink'> {
  if ((await options.auth.loadCreds()) === null) return 'nothing-to-unlink';
  let settle!: (outcome: Outcome) => void;
  const outcome = new Promise<Outcome>((resolve) => (settle = resolve));
  const timer = setTimeout(() => settle({ kind: 'timeout' }), options.timeoutMs);
  const connecting = options.engine.connect({
    sessionId: options.sessionId,
    sessionName: options.sessionName,
    auth: options.auth,
    onEvent: (event) => {
      if (event.type === 'open') settle({ kind: 'open' });
      else if (event.type === 'qr') settle({ kind: 'qr' });
      else if (event.type === 'close') settle({ kind: 'close', disconnect: event.disconnect });
    },
  });
  let connection: Awaited<typeof connecting>;
  try {
    const first = await Promise.race([connecting, outcome]);
    if ('kind' in first) {
      // Timed out while the engine was still loading the auth state: close the socket if one comes.
      connecting.then((late) => late.close()).catch(options.onLateFailure);
      throw new Error(`WhatsApp did not open the connection within ${options.timeoutMs} ms`);
    }
    connection = first;
  } catch (error) {
    clearTimeout(timer);
    throw error;
  }
  try {
    const result = await outcome;
    switch (result.kind) {
      case 'open':
        await connection.logout();
        return 'unlinked';
      case 'qr':
        // The stored creds were never registered (pairing unfinished): no device exists.
        return 'nothing-to-unlink';
      case 'close':
        if (result.disconnect.kind === 'logged_out') return 'nothing-to-unlink';
        throw new Error(`WhatsApp closed the connection (${result.disconnect.message || result.disconnect.kind})`);
      case 'timeout':
        throw new Error(`WhatsApp did not open the connection within ${options.timeoutMs} ms`);
    }
  } finally {
    clearTimeout(timer);
    await connection.close();
  }
}

/**
 * `unlinkWithStoredCredentials` with a few tries and backoff between them (a
 * WhatsApp blip must not leave a device linked). Never rejects: null when
 * done, otherwise the last error's message, for the caller's lastError.
 */
export async function unlinkWithRetries(options: UnlinkOptions, attempts: number, backoffMs: (attempt: number) => number): Promise<string | null> {
  let lastError: string | null = null;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      await unlinkWithStoredCredentials(options);
      return null;
    } catch (error) {
      lastError = (error as Error).message;
      if (attempt < attempts) await new Promise((resolve) => setTimeout(resolve, backoffMs(attempt)));
    }
  }
  return lastError;
}
