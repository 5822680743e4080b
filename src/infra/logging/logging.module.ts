import type { IncomingMessage } from 'node:http';
import { DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { AppConfig } from '../../config';
import { requestIdFor } from '../../common/http/request-id';

/**
 * Structured JSON logs (pino). Secrets never reach the output: the API key,
 * bearer tokens, webhook secrets and auth state are redacted wherever they
 * appear. Request logs use route patterns so no phone number or JID lands in
 * an info-level line.
 */
export const REDACT_PATHS = [
  'req.headers["x-api-key"]',
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.apiKey',
  '*.API_KEY',
  '*.secret',
  '*.token',
  '*.password',
  '*.creds',
  '*.keys',
  '*.authState',
  '*.AUTH_STATE_KEY',
  '*.METRICS_TOKEN',
];

@Module({})
export class LoggingModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: {
            level: config.LOG_LEVEL,
            base: { instance: config.INSTANCE_ID, role: config.APP_ROLE },
            redact: { paths: REDACT_PATHS, censor: '[redacted]' },
            genReqId: (req: IncomingMessage) => requestIdFor(req),
            customProps: () => ({}),
            // Log the route pattern, not the URL: paths can carry phone numbers.
            serializers: {
              req: (req: { id: string; method: string; raw?: { route?: { path?: string }; baseUrl?: string } }) => ({
                id: req.id,
                method: req.method,
                route: req.raw?.route?.path ? `${req.raw.baseUrl ?? ''}${req.raw.route.path}` : undefined,
              }),
              res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
            },
            autoLogging: { ignore: (req: IncomingMessage) => Boolean(req.url?.startsWith('/health') || req.url === '/metrics') },
          },
        }),
      ],
    };
  }
}
