import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { BullBoardModule } from '@bull-board/nestjs';
import type { DynamicModule } from '@nestjs/common';
import { BROWSER_SESSIONS, type BrowserSessionVerifier } from '../../common/guards/browser-session.port';
import { APP_CONFIG, type AppConfig } from '../../config';
import { ALL_QUEUES, OWNER_QUEUES } from '../../infra/queues/queue-catalogue';
import { adminAuthMiddleware } from './admin-auth.middleware';

/** Where bull-board is served (CONTRACT.md "Dashboard and live events"). */
export const BULL_BOARD_ROUTE = '/admin/queues';

/**
 * bull-board over every queue of the catalogue, at /admin/queues, behind the
 * API key. The shared queues are the ones QueuesModule registers (resolved
 * from Nest's container by name), so the board shows exactly what the workers
 * consume, under the configured REDIS_PREFIX; the owner queues' copies of
 * every worker are added by OwnerQueueCopies.
 */
export function bullBoardModules(): DynamicModule[] {
  return [
    BullBoardModule.forRootAsync({
      inject: [APP_CONFIG, { token: BROWSER_SESSIONS, optional: true }],
      useFactory: (config: AppConfig, browserSessions?: BrowserSessionVerifier) => ({
        route: BULL_BOARD_ROUTE,
        adapter: ExpressAdapter,
        middleware: adminAuthMiddleware(config.API_KEY, browserSessions),
        boardOptions: { uiConfig: { boardTitle: 'ZapHub queues' } },
      }),
    }),
    // Owner queues have a copy per worker: OwnerQueueCopies lists them all, named by worker.
    BullBoardModule.forFeature(...ALL_QUEUES.filter((name) => !OWNER_QUEUES.includes(name)).map((name) => ({ name, adapter: BullMQAdapter }))),
  ];
}
