/**
 * Fault injection settings of the sandbox network and their validation. Kept
 * pure (no Nest, no sockets) so the REST DTO, the control API and the unit
 * tests share one definition of what is valid.
 */
export interface SandboxFaults {
  /** Delay added to every server-to-client frame (ms, integer 0..60000). */
  latencyMs?: number;
  /** Probability (0..1) that a relayed `<message>` is dropped after the server acked it. */
  dropRate?: number;
  /** New WebSocket connections of sessions fail at once (the TCP connection is reset at the upgrade). */
  refuseConnections?: boolean;
  /** The next n media downloads (GETs of the media server, by anyone) answer 503; counts down as they happen. */
  mediaDownloadFailures?: number;
}

export const MAX_LATENCY_MS = 60_000;
export const MAX_MEDIA_DOWNLOAD_FAILURES = 1000;
const KEYS = ['latencyMs', 'dropRate', 'refuseConnections', 'mediaDownloadFailures'] as const;

export interface FaultProblem {
  field: string;
  message: string;
}

export class FaultsValidationError extends Error {
  constructor(readonly problems: FaultProblem[]) {
    super(`Invalid faults: ${problems.map((p) => `${p.field} ${p.message}`).join('; ')}`);
  }
}

/**
 * Checks an untrusted faults object and returns a normalized copy in which
 * neutral values (latency 0, drop rate 0, refuse false) are left out, so `{}`
 * means "no faults". Throws FaultsValidationError listing every problem.
 */
export function validateFaults(input: unknown): SandboxFaults {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new FaultsValidationError([{ field: '(body)', message: 'must be an object' }]);
  }
  const raw = input as Record<string, unknown>;
  const problems: FaultProblem[] = Object.keys(raw)
    .filter((key) => !(KEYS as readonly string[]).includes(key))
    .map((field) => ({ field, message: 'is not a known fault' }));
  const faults: SandboxFaults = {};

  if (raw.latencyMs !== undefined) {
    const v = raw.latencyMs;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_LATENCY_MS) {
      problems.push({ field: 'latencyMs', message: `must be an integer between 0 and ${MAX_LATENCY_MS}` });
    } else if (v > 0) faults.latencyMs = v;
  }
  if (raw.dropRate !== undefined) {
    const v = raw.dropRate;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1) {
      problems.push({ field: 'dropRate', message: 'must be a number between 0 and 1' });
    } else if (v > 0) faults.dropRate = v;
  }
  if (raw.refuseConnections !== undefined) {
    if (typeof raw.refuseConnections !== 'boolean') problems.push({ field: 'refuseConnections', message: 'must be a boolean' });
    else if (raw.refuseConnections) faults.refuseConnections = true;
  }
  if (raw.mediaDownloadFailures !== undefined) {
    const v = raw.mediaDownloadFailures;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_MEDIA_DOWNLOAD_FAILURES) {
      problems.push({ field: 'mediaDownloadFailures', message: `must be an integer between 0 and ${MAX_MEDIA_DOWNLOAD_FAILURES}` });
    } else if (v > 0) faults.mediaDownloadFailures = v;
  }
  if (problems.length) throw new FaultsValidationError(problems);
  return faults;
}
