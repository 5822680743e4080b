import type { DynamicModule, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import { AppModule } from '../app.module';
import { createValidationPipe } from '../common/pipes/validation.pipe';
import { mountDashboard } from '../modules/dashboard/dashboard-static';
import type { AppConfig } from '../config';
import { featureModules } from './feature-modules';
import { setupOpenApi } from './openapi';

/**
 * Builds the HTTP application (not yet listening): body limits, helmet,
 * validation, OpenAPI. Shared by main.ts and the e2e tests so both run the
 * same stack. `extraModules` lets tests add fixture modules (e.g. a processor)
 * to the real application.
 */
export async function createApp(
  config: AppConfig,
  extraModules: Array<Type | DynamicModule> = [],
): Promise<NestExpressApplication> {
  const modules = [...featureModules(config), ...extraModules];
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, modules), {
    bodyParser: false,
    bufferLogs: true,
    abortOnError: false,
  });
  app.useLogger(app.get(Logger));
  app.useBodyParser('json', { limit: config.BODY_LIMIT });
  app.useBodyParser('urlencoded', { limit: config.BODY_LIMIT, extended: true });
  app.disable('x-powered-by');
  app.set('trust proxy', true);
  // No CSP by default: /docs (Swagger UI) runs inline scripts that a strict policy would block.
  app.use(helmet({ contentSecurityPolicy: false }));
  // The dashboard's page gets a strict one of its own (its own assets only).
  mountDashboard(app, config);
  app.useGlobalPipes(createValidationPipe());
  setupOpenApi(app);
  await app.init();
  return app;
}
