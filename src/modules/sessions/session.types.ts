/** Session statuses of the contract (mirrors the Prisma enum, without importing Prisma outside repositories). */
export const SessionStatus = {
  STOPPED: 'STOPPED',
  QUEUED: 'QUEUED',
  STARTING: 'STARTING',
  SCAN_QR: 'SCAN_QR',
  WORKING: 'WORKING',
  RECONNECTING: 'RECONNECTING',
  FAILED: 'FAILED',
  LOGGED_OUT: 'LOGGED_OUT',
  CONFLICT: 'CONFLICT',
} as const;
export type SessionStatus = (typeof SessionStatus)[keyof typeof SessionStatus];
export const ALL_SESSION_STATUSES = Object.values(SessionStatus);

export type CircuitStateName = 'CLOSED' | 'OPEN' | 'HALF_OPEN';
export type DesiredState = 'RUNNING' | 'STOPPED';
/** One-shot actions persisted on the row until the owner (or an adopter) has carried them out. */
export type SessionAction = 'RESTART' | 'LOGOUT' | 'DELETE';

/** Statuses in which a worker holds (or should hold) a socket for the session. */
export const LIVE_STATUSES: readonly SessionStatus[] = ['STARTING', 'SCAN_QR', 'WORKING', 'RECONNECTING'];

/** Changes to the stats JSON, applied atomically in SQL (never read-modify-write). */
export interface StatsChange {
  /** Zero every counter: stats count from the session's last start. */
  reset?: boolean;
  connectedSince?: string | null;
}

export interface SessionStats {
  connectedSince: string | null;
  sent: number;
  received: number;
  failed: number;
  reconnects: number;
  avgSendMs: number;
}

export const EMPTY_STATS: SessionStats = { connectedSince: null, sent: 0, received: 0, failed: 0, reconnects: 0, avgSendMs: 0 };

export interface SessionMe {
  id: string;
  phone: string;
  pushName: string | null;
}

export interface HumanizeConfig {
  enabled: boolean;
  typingMsPerChar: number;
  minTypingMs: number;
  maxTypingMs: number;
  chatGapMs: number;
}

export interface WebhookInput {
  url: string;
  events?: string[];
  secret?: string;
}

/** SessionConfig as stored: only what the client set. Defaults are merged when shown. */
export interface StoredSessionConfig {
  humanize?: Partial<HumanizeConfig>;
  rateLimitPerMinute?: number;
  webhooks?: WebhookInput[];
}

/** A Session row in domain terms (what repositories return). */
export interface SessionRecord {
  id: string;
  name: string;
  desiredState: DesiredState;
  status: SessionStatus;
  config: StoredSessionConfig;
  me: SessionMe | null;
  lastError: string | null;
  stats: Partial<SessionStats>;
  qr: string | null;
  qrExpiresAt: Date | null;
  queuedAt: Date | null;
  reconnectAttempts: number;
  nextReconnectAt: Date | null;
  circuitState: CircuitStateName;
  circuitFailures: number;
  /** Fencing token of the current owner (bumped at each lease acquisition). */
  leaseEpoch: number;
  pendingAction: SessionAction | null;
  actionSeq: number;
  /** Set by DELETE: hidden from the API until the worker has unlinked the device and removed the row. */
  deletedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}
