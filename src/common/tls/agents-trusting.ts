import { Agent as HttpsAgent } from 'node:https';
import { rootCertificates } from 'node:tls';
import { Agent as UndiciAgent } from 'undici';

/**
 * HTTP agents that trust one extra certificate authority (a test CA) besides
 * the usual public roots: an `https.Agent` for code on Node's `https` module
 * and an undici `Agent` for `fetch` (Node 20's global fetch takes a
 * `dispatcher`, not an https.Agent). The public roots stay trusted because a
 * `ca` option replaces them: without them, any other https URL fetched through
 * the same agents would fail.
 */
export interface AgentsTrusting {
  httpsAgent: HttpsAgent;
  /** undici 6, the major version Node 20's fetch bundles (its dispatch interface). */
  dispatcher: UndiciAgent;
  /** Closes idle sockets of both agents. */
  close(): Promise<void>;
}

export interface AgentsTrustingOptions {
  /** Upper bound for the response headers, and between two body chunks (default 30 s). */
  timeoutMs?: number;
}

export function agentsTrusting(caPem: string, options: AgentsTrustingOptions = {}): AgentsTrusting {
  const ca = [...rootCertificates, caPem];
  const timeoutMs = options.timeoutMs ?? 30_000;
  const httpsAgent = new HttpsAgent({ ca, timeout: timeoutMs });
  const dispatcher = new UndiciAgent({ connect: { ca }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  return {
    httpsAgent,
    dispatcher,
    async close() {
      httpsAgent.destroy();
      await dispatcher.close();
    },
  };
}
