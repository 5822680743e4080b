import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp } from './bootstrap/create-app';
import { installShutdownHandlers } from './bootstrap/graceful-shutdown';
import { installUnhandledRejectionHandler } from './bootstrap/unhandled-rejections';
import { ConfigValidationError, loadConfig } from './config';
import { MetricsRegistry } from './infra/metrics/metrics.registry';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigValidationError) {
      // One line per problem, then a non-zero exit: fail fast, fix everything at once.
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }

  const app = await createApp(config);
  // As soon as the app's registry exists: a forgotten catch is logged and counted, and the process keeps serving.
  installUnhandledRejectionHandler(app.get(MetricsRegistry), new Logger('UnhandledRejection'));
  const logger = new Logger('Main');
  if (config.SANDBOX) logger.warn('SANDBOX=true: sessions talk to the built-in FAKE WhatsApp network, not to WhatsApp');

  installShutdownHandlers(app, config.SHUTDOWN_TIMEOUT_MS, logger);

  await app.listen(config.PORT, config.HOST);
  logger.log(`ZapHub listening on http://${config.HOST}:${config.PORT} (role ${config.APP_ROLE})`);
}

main().catch((error: unknown) => {
  process.stderr.write(`ZapHub failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
