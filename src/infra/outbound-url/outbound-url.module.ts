import { Global, Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../config';
import { OUTBOUND_URL_GUARD, OutboundUrlGuard } from './outbound-url-guard';

/**
 * The one SSRF guard of every request ZapHub makes to a URL a client gave
 * (webhook deliveries, media URLs): WEBHOOK_ALLOW_PRIVATE lifts its address
 * check for all of them.
 */
@Global()
@Module({
  providers: [
    {
      provide: OUTBOUND_URL_GUARD,
      inject: [APP_CONFIG],
      useFactory: (c: AppConfig) => new OutboundUrlGuard({ allowPrivate: c.WEBHOOK_ALLOW_PRIVATE }),
    },
  ],
  exports: [OUTBOUND_URL_GUARD],
})
export class OutboundUrlModule {}
