import { DynamicModule, Module, type Provider } from '@nestjs/common';
import { SANDBOX_ENDPOINT, type SandboxEndpointPort } from '../../common/ports/sandbox-endpoint';
import { SESSION_QR_LOOKUP, type SessionQrLookup } from '../../common/ports/session-qr-lookup';
import { APP_CONFIG, type AppConfig } from '../../config';
import { HealthInfoRegistry } from '../../infra/health-info/health-info.registry';
import { authStateProviders } from './auth-state/auth-state.providers';
import { createBaileysEngine } from './engine/engine.providers';
import { WHATSAPP_ENGINE } from './engine/whatsapp-engine.port';
import { PoolStatsService } from './pool-stats.service';
import { SessionCommandBus } from './runtime/session-command-bus';
import { SessionLeaseService } from './runtime/session-lease.service';
import { SessionMetrics } from './runtime/session-metrics';
import { SessionOwnerCommands } from './runtime/session-owner-commands';
import { SessionReconciler } from './runtime/session-reconciler';
import { SessionRuntime } from './runtime/session-runtime.service';
import { SessionStatusPublisher } from './runtime/session-status.publisher';
import { SessionWatchdog } from './runtime/session-watchdog.service';
import { sandboxEndpoint } from './sandbox-endpoint';
import { SessionChannels, SessionOwnership } from './session-channels';
import { SessionCloseProcessor } from './session-close.processor';
import { SessionHooks } from './session-hooks';
import { SessionInitProcessor } from './session-init.processor';
import { SessionRepository } from './session.repository';
import { SessionsController } from './sessions.controller';
import { SessionsService } from './sessions.service';

/** Worker-only providers: the runtime that owns sockets, its loops, processors and the engine. */
function workerProviders(): Provider[] {
  return [
    SessionRuntime,
    SessionReconciler,
    SessionOwnerCommands,
    SessionWatchdog,
    SessionInitProcessor,
    SessionCloseProcessor,
    ...authStateProviders(),
    {
      provide: WHATSAPP_ENGINE,
      inject: [APP_CONFIG, { token: SANDBOX_ENDPOINT, optional: true }],
      useFactory: (config: AppConfig, endpoint?: SandboxEndpointPort) => createBaileysEngine(config, sandboxEndpoint(config, endpoint)),
    },
  ];
}

/**
 * Sessions: lifecycle routes and desired state (every role), plus on `worker`
 * and `all` the runtime that owns WhatsApp sockets. Global, exporting only its
 * ports: SessionsService (lookups), SessionChannels (owner-only send handles),
 * SessionOwnership (who owns a session), SessionHooks (inbound sink, sent
 * message store, "became WORKING" listeners) and the QR lookup the sandbox's
 * fake phone uses.
 */
@Module({})
export class SessionsModule {
  static register(config: AppConfig): DynamicModule {
    const isWorker = config.APP_ROLE !== 'api';
    return {
      module: SessionsModule,
      global: true,
      controllers: [SessionsController],
      providers: [
        SessionRepository,
        SessionsService,
        SessionLeaseService,
        SessionCommandBus,
        PoolStatsService,
        SessionMetrics,
        SessionStatusPublisher,
        SessionHooks,
        SessionChannels,
        SessionOwnership,
        {
          provide: SESSION_QR_LOOKUP,
          inject: [SessionsService],
          useFactory: (sessions: SessionsService): SessionQrLookup => ({ currentQr: (name) => sessions.currentQr(name) }),
        },
        {
          // Contributes the pool picture to /health/ready.
          provide: 'SESSIONS_HEALTH_INFO',
          inject: [HealthInfoRegistry, SessionsService],
          useFactory: (registry: HealthInfoRegistry, sessions: SessionsService) => {
            registry.register('pool', async () => {
              const pool = await sessions.pool();
              return { active: pool.active, max: pool.max, waiting: pool.waiting.length };
            });
            return true;
          },
        },
        ...(isWorker ? workerProviders() : []),
      ],
      exports: [SessionsService, SessionChannels, SessionOwnership, SessionHooks, SESSION_QR_LOOKUP],
    };
  }
}
