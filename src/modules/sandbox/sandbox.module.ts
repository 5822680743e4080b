import { Logger, Module, type DynamicModule } from '@nestjs/common';
import { SANDBOX_ENDPOINT } from '../../common/ports/sandbox-endpoint';
import type { AppConfig } from '../../config';
import { SandboxNetwork } from './network/sandbox-network';
import type { SandboxLogger } from './network/sandbox-network.types';
import { SandboxController } from './sandbox.controller';
import { SandboxService } from './sandbox.service';

/**
 * The built-in fake WhatsApp network (SANDBOX=true, no SANDBOX_URL). Global,
 * so the sessions module can resolve the SANDBOX_ENDPOINT port (URL per
 * session and root key) without importing this module.
 */
@Module({})
export class SandboxModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: SandboxModule,
      global: true,
      controllers: [SandboxController],
      providers: [
        {
          provide: SandboxNetwork,
          useFactory: () =>
            new SandboxNetwork({
              port: config.SANDBOX_PORT,
              deliveryReceiptMs: config.SANDBOX_DELIVERY_RECEIPT_MS,
              readReceiptMs: config.SANDBOX_READ_RECEIPT_MS,
              logger: nestLogger(new Logger('Sandbox')),
            }),
        },
        { provide: SANDBOX_ENDPOINT, useExisting: SandboxNetwork },
        SandboxService,
      ],
      exports: [SandboxNetwork, SandboxService, SANDBOX_ENDPOINT],
    };
  }
}

function nestLogger(logger: Logger): SandboxLogger {
  return {
    log: (message) => logger.log(message),
    warn: (message) => logger.warn(message),
    error: (message) => logger.error(message),
    debug: (message) => logger.debug(message),
  };
}
