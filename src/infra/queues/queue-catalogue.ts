import type { JobsOptions } from 'bullmq';
import type { AppConfig } from '../../config';

/**
 * The one catalogue of ZapHub's queues: names, default job options, payload
 * types and job-id rules. Payloads carry ids only: the database row is the
 * truth and a job is just a trigger, so a lost job can be re-created by a
 * reconciler from the rows.
 *
 * BullMQ forbids ':' in queue names and custom job ids, and all-digit job ids.
 */
export const QueueName = {
  SessionInit: 'session-init',
  SessionClose: 'session-close',
  MessageSend: 'message-send',
  MessageReceive: 'message-receive',
  MessageStatus: 'message-status',
  WebhookDelivery: 'webhook-delivery',
  MaintenanceCleanup: 'maintenance-cleanup',
  /** Received media files, downloaded by the session's owner (an owner queue: see OWNER_QUEUES). */
  MediaDownload: 'media-download',
} as const;
export type QueueName = (typeof QueueName)[keyof typeof QueueName];
export const ALL_QUEUES: readonly QueueName[] = Object.values(QueueName);

export function isQueueName(value: string): value is QueueName {
  return (ALL_QUEUES as readonly string[]).includes(value);
}

/**
 * Owner queues: their jobs need the WhatsApp socket of one session, which only
 * its owner holds (a media download may have to ask the sender's phone for a
 * re-upload). Each worker has its own copy of such a queue (its BullMQ prefix
 * carries INSTANCE_ID): the owner enqueues there and only it processes them.
 * When the owner changes, the jobs left in the old owner's copy are not run by
 * anyone; the rows are the truth, and the new owner's reconciler enqueues the
 * work again in its own copy. The admin routes and metrics of a replica show
 * its own copy.
 */
export const OWNER_QUEUES: readonly QueueName[] = [QueueName.MediaDownload];

/** The BullMQ prefix of a queue: the deployment's REDIS_PREFIX, plus this worker's id for an owner queue. */
export function queuePrefix(config: Pick<AppConfig, 'REDIS_PREFIX' | 'INSTANCE_ID'>, queue: QueueName): string {
  return OWNER_QUEUES.includes(queue) ? `${config.REDIS_PREFIX}-owner-${config.INSTANCE_ID}` : config.REDIS_PREFIX;
}

/** Job payloads, one per queue. */
export interface JobPayloads {
  [QueueName.SessionInit]: { sessionId: string; reason: 'start' | 'restart' | 'restore' | 'reconnect' | 'adopt' };
  [QueueName.SessionClose]: { sessionId: string; action: 'stop' | 'logout' | 'delete' };
  [QueueName.MessageSend]: { sessionId: string; chatId: string };
  [QueueName.MessageReceive]: { sessionId: string; waMessageId: string };
  [QueueName.MessageStatus]: { sessionId: string; waMessageId: string; status: 'DELIVERED' | 'READ' };
  [QueueName.WebhookDelivery]: { deliveryId: string };
  [QueueName.MaintenanceCleanup]: { job: 'processed' | 'expire-pending' | 'stale-locks' | 'history' | 'bull-jobs' | 'flows' };
  /** The media of a received message (its Media row, DOWNLOADING, says what to fetch). */
  [QueueName.MediaDownload]: { sessionId: string; messageId: string };
}

interface QueuePolicy {
  priority?: number;
  attempts: number;
  backoff?: { type: 'exponential' | 'fixed'; delay: number };
  concurrency: number;
}

/** Seed policies, with concurrency and attempts overridable from the environment. */
export function queuePolicies(config: AppConfig): Record<QueueName, QueuePolicy> {
  return {
    [QueueName.SessionInit]: {
      priority: 10,
      attempts: config.QUEUE_SESSION_INIT_ATTEMPTS,
      backoff: { type: 'exponential', delay: 5000 },
      concurrency: config.QUEUE_SESSION_INIT_CONCURRENCY,
    },
    [QueueName.SessionClose]: {
      priority: 8,
      attempts: config.QUEUE_SESSION_CLOSE_ATTEMPTS,
      backoff: { type: 'exponential', delay: 2000 },
      concurrency: config.QUEUE_SESSION_CLOSE_CONCURRENCY,
    },
    [QueueName.MessageSend]: {
      priority: 5,
      attempts: config.QUEUE_MESSAGE_SEND_ATTEMPTS,
      backoff: { type: 'exponential', delay: 2000 },
      concurrency: config.QUEUE_MESSAGE_SEND_CONCURRENCY,
    },
    [QueueName.MessageReceive]: {
      priority: 7,
      attempts: config.QUEUE_MESSAGE_RECEIVE_ATTEMPTS,
      backoff: { type: 'exponential', delay: 1000 },
      concurrency: config.QUEUE_MESSAGE_RECEIVE_CONCURRENCY,
    },
    [QueueName.MessageStatus]: {
      priority: 4,
      attempts: config.QUEUE_MESSAGE_STATUS_ATTEMPTS,
      backoff: { type: 'exponential', delay: 1000 },
      concurrency: config.QUEUE_MESSAGE_STATUS_CONCURRENCY,
    },
    // Webhook retries are scheduled by the delivery row (attempts, nextAttemptAt),
    // not by BullMQ, so they survive restarts and follow the contract's backoff.
    // BullMQ's own attempts only cover a trigger that failed on PostgreSQL.
    [QueueName.WebhookDelivery]: {
      priority: 3,
      attempts: 3,
      backoff: { type: 'exponential', delay: 1000 },
      concurrency: config.QUEUE_WEBHOOK_DELIVERY_CONCURRENCY,
    },
    [QueueName.MaintenanceCleanup]: { attempts: 1, concurrency: config.QUEUE_MAINTENANCE_CLEANUP_CONCURRENCY },
    // A failed download is retried after 2, 4, 8 s...; the last failure marks the media FAILED.
    [QueueName.MediaDownload]: {
      priority: 6,
      attempts: config.QUEUE_MEDIA_DOWNLOAD_ATTEMPTS,
      backoff: { type: 'exponential', delay: 2000 },
      concurrency: config.QUEUE_MEDIA_DOWNLOAD_CONCURRENCY,
    },
  };
}

/** Completed jobs kept for inspection; failed ones kept longer for the admin routes. */
const RETENTION = { removeOnComplete: { count: 1000, age: 3600 }, removeOnFail: { count: 5000, age: 7 * 24 * 3600 } };

/**
 * Delivery triggers are removed as soon as they end: their job id (delivery +
 * attempt number) must be free again for the reconciler when the row is still
 * due (a trigger that failed on a database outage), and the row, not the job,
 * is what the delivery log shows.
 */
const TRIGGER_RETENTION = { removeOnComplete: true, removeOnFail: true };
// (media-download jobs too: the Media row records every outcome, and a job id
// must be free again for the reconciler when a row is still DOWNLOADING.)

export function defaultJobOptions(config: AppConfig, queue: QueueName): JobsOptions {
  const p = queuePolicies(config)[queue];
  return {
    ...(p.priority !== undefined ? { priority: p.priority } : {}),
    attempts: p.attempts,
    ...(p.backoff ? { backoff: p.backoff } : {}),
    ...(queue === QueueName.WebhookDelivery || queue === QueueName.MediaDownload ? TRIGGER_RETENTION : RETENTION),
  };
}

/**
 * Job-id rules. A custom id makes an enqueue idempotent while the job exists:
 * a double click on "start" adds nothing. Ids never contain ':' and never are
 * all digits (BullMQ rules); session ids are UUIDs, which satisfy both.
 */
export const JobId = {
  sessionInit: (sessionId: string) => `init-${sessionId}`,
  sessionClose: (sessionId: string) => `close-${sessionId}`,
  messageDrain: (sessionId: string, chatId: string) => `drain-${sessionId}-${safe(chatId)}`,
  messageReceive: (sessionId: string, waMessageId: string) => `recv-${sessionId}-${safe(waMessageId)}`,
  messageStatus: (sessionId: string, waMessageId: string, status: string) => `status-${sessionId}-${safe(waMessageId)}-${status}`,
  webhookDelivery: (deliveryId: string, attempt: number) => `delivery-${deliveryId}-${attempt}`,
  /** A redeliver's trigger: its own id, so an attempt of the same delivery still in flight cannot swallow it. */
  webhookRedelivery: (deliveryId: string, at: number) => `redeliver-${deliveryId}-${at}`,
  cleanup: (job: string, slot: number) => `cleanup-${job}-${slot}`,
  /** One download per received message (its ZapHub id, a UUID). */
  mediaDownload: (messageId: string) => `media-${messageId}`,
};

function safe(part: string): string {
  return part.replace(/:/g, '_');
}
