import { ApiProperty } from '@nestjs/swagger';
import { CLEANUP_JOBS, type CleanupJob } from './cleanup-jobs';

/** One cleanup job: its last finished run (shared by every replica) and its next scheduled run. */
export class CleanupJobView {
  @ApiProperty({ enum: CLEANUP_JOBS }) job: CleanupJob;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'When the last finished run started (null: never ran)' })
  lastRunAt: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'When the last successful run finished' })
  lastSuccessAt: string | null;
  @ApiProperty({ type: Number, nullable: true, description: 'Rows (BullMQ jobs for `jobs`) the last finished run removed or expired; for a failed run, before it failed' })
  lastRows: number | null;
  @ApiProperty({ type: String, nullable: true, description: 'Why the last finished run failed (null when it succeeded); the next run tries again' })
  lastError: string | null;
  @ApiProperty({ type: String, format: 'date-time', description: 'The next scheduled run (cron from the environment, UTC), on worker replicas' })
  nextRunAt: string;
  @ApiProperty({ description: 'A run holds the job lock right now (for `flows` and `summary`: on the replica that answers)' })
  running: boolean;
  @ApiProperty({ type: Number, nullable: true, description: 'Duration of the last finished run' })
  lastDurationMs: number | null;
  @ApiProperty({ type: String, nullable: true, description: 'INSTANCE_ID of the replica that ran the last finished run' })
  lastRunBy: string | null;
}
