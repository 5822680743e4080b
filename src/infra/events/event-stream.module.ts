import { Module } from '@nestjs/common';
import { EventAppendHints } from './event-append-hints';
import { EventStreams } from './event-stream';
import { EventRepository } from './event.repository';

/**
 * Live reading of the event log (the dashboard's stream). Loaded on every
 * role: events are appended by every role, and each append's hint must reach
 * the replicas that serve streams. EventRepository is provided here too (it
 * is stateless): the all-sessions stream reads the sessions' counters through
 * it, which EventLog does not expose.
 */
@Module({ providers: [EventAppendHints, EventStreams, EventRepository], exports: [EventStreams] })
export class EventStreamModule {}
