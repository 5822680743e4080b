import { Module } from '@nestjs/common';
import { EventAppendHints } from './event-append-hints';
import { EventStreams } from './event-stream';

/**
 * Live reading of the event log (the dashboard's stream). Loaded on every
 * role: events are appended by every role, and each append's hint must reach
 * the replicas that serve streams.
 */
@Module({ providers: [EventAppendHints, EventStreams], exports: [EventStreams] })
export class EventStreamModule {}
