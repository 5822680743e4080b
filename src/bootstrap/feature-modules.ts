import type { DynamicModule, Type } from '@nestjs/common';
import type { AppConfig } from '../config';
import { CleanupModule } from '../modules/cleanup/cleanup.module';
import { MessagingModule } from '../modules/messaging/messaging.module';
import { SessionsModule } from '../modules/sessions/sessions.module';
import { WebhooksModule } from '../modules/webhooks/webhooks.module';

/**
 * Feature modules (sessions, messaging, webhooks, cleanup, sandbox) are listed
 * here, each built for the process role: processors and crons only load on
 * `worker` and `all`, the sandbox only with SANDBOX=true.
 */
export function featureModules(config: AppConfig): Array<Type | DynamicModule> {
  const modules: Array<Type | DynamicModule> = [];
  // In-process fake WhatsApp network, unless sessions use an external one (SANDBOX_URL). Required
  // only then, so a production process never even loads the sandbox's code.
  if (config.SANDBOX && !config.SANDBOX_URL) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { SandboxModule } = require('../modules/sandbox/sandbox.module') as typeof import('../modules/sandbox/sandbox.module');
    modules.push(SandboxModule.register(config));
  }
  modules.push(SessionsModule.register(config), WebhooksModule.register(config), MessagingModule.register(config), CleanupModule.register(config));
  return modules;
}
