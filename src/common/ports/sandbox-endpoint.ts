/**
 * Where sessions connect when the in-process sandbox runs, and which test root
 * they trust. Provided by the sandbox module (only loaded with SANDBOX=true
 * and no SANDBOX_URL), injected optionally by sessions, so production code
 * never loads the sandbox.
 */
export interface SandboxEndpointPort {
  urlForSession(sessionName: string): string;
  rootPublicKey: Uint8Array;
  /** PEM of the test CA of the sandbox's media server; readable once the sandbox started (sessions read it when they connect). */
  readonly mediaCaPem?: string;
}

export const SANDBOX_ENDPOINT = Symbol('SANDBOX_ENDPOINT');
