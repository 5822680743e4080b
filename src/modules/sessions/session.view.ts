import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { AppConfig } from '../../config';
import { ALL_SESSION_STATUSES, EMPTY_STATS, type HumanizeConfig, type SessionRecord, type WebhookInput } from './session.types';

/** The Session body of the contract (OpenAPI schema and mapping). */
export class SessionMeView {
  @ApiProperty() id: string;
  @ApiProperty() phone: string;
  @ApiProperty({ nullable: true, type: String }) pushName: string | null;
}

/** GET /api/pool: the session pool across workers (SessionsService.pool's PoolView). */
export class SessionPoolView {
  @ApiProperty({ example: 2, description: 'Sessions holding a pool slot (any worker)' }) active: number;
  @ApiProperty({ example: 50, description: 'MAX_SESSIONS' }) max: number;
  @ApiProperty({ type: [String], example: ['s3'], description: 'Names of the QUEUED sessions, in FIFO order' }) waiting: string[];
  @ApiProperty({ example: 0.04, minimum: 0, description: 'active / max' }) utilization: number;
}

export class SessionConfigView {
  @ApiProperty() humanize: HumanizeConfig;
  @ApiProperty() rateLimitPerMinute: number;
  @ApiProperty() webhooks: WebhookInput[];
}

export class SessionView {
  @ApiProperty() name: string;
  @ApiProperty({ enum: ALL_SESSION_STATUSES }) status: string;
  @ApiPropertyOptional({ type: SessionMeView, nullable: true }) me: SessionMeView | null;
  @ApiProperty({ type: SessionConfigView }) config: SessionConfigView;
  @ApiProperty() createdAt: string;
  @ApiProperty() updatedAt: string;
  @ApiProperty({ nullable: true, type: String }) lastError: string | null;
  @ApiProperty({ example: { attempts: 0, nextAttemptAt: null } }) reconnect: { attempts: number; nextAttemptAt: string | null };
  @ApiProperty({ example: { state: 'CLOSED', failures: 0 } }) circuit: { state: string; failures: number };
  @ApiProperty({ example: { position: null } }) pool: { position: number | null };
  @ApiProperty({ example: EMPTY_STATS }) stats: typeof EMPTY_STATS;
}

export function effectiveConfig(record: Pick<SessionRecord, 'config'>, config: AppConfig): SessionConfigView {
  const h = record.config.humanize ?? {};
  return {
    humanize: {
      enabled: h.enabled ?? config.HUMANIZE_ENABLED,
      typingMsPerChar: h.typingMsPerChar ?? config.HUMANIZE_TYPING_MS_PER_CHAR,
      minTypingMs: h.minTypingMs ?? config.HUMANIZE_MIN_TYPING_MS,
      maxTypingMs: h.maxTypingMs ?? config.HUMANIZE_MAX_TYPING_MS,
      chatGapMs: h.chatGapMs ?? config.HUMANIZE_CHAT_GAP_MS,
    },
    rateLimitPerMinute: record.config.rateLimitPerMinute ?? config.DEFAULT_RATE_LIMIT_PER_MINUTE,
    // Secrets of inline webhooks are never echoed back.
    webhooks: (record.config.webhooks ?? []).map(({ url, events }) => ({ url, events: events ?? ['*'] })),
  };
}

/** @param queuePosition 1-based position in the pool FIFO when QUEUED. */
export function toSessionView(record: SessionRecord, config: AppConfig, queuePosition: number | null): SessionView {
  return {
    name: record.name,
    status: record.status,
    me: record.me,
    config: effectiveConfig(record, config),
    createdAt: record.createdAt.toISOString(),
    updatedAt: record.updatedAt.toISOString(),
    lastError: record.lastError,
    reconnect: { attempts: record.reconnectAttempts, nextAttemptAt: record.nextReconnectAt?.toISOString() ?? null },
    circuit: { state: record.circuitState, failures: record.circuitFailures },
    pool: { position: record.status === 'QUEUED' ? queuePosition : null },
    stats: { ...EMPTY_STATS, ...record.stats },
  };
}
