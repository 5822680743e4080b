import { Global, Module } from '@nestjs/common';
import { BROWSER_SESSIONS } from '../../common/guards/browser-session.port';
import { AuthController } from './auth.controller';
import { BrowserSessions } from './browser-sessions.service';

/**
 * Browser sign-in (CONTRACT.md "Dashboard and live events"). Global so that
 * the API-key guard and bull-board's middleware find the verifier through
 * the BROWSER_SESSIONS port without importing this module.
 */
@Global()
@Module({
  controllers: [AuthController],
  providers: [BrowserSessions, { provide: BROWSER_SESSIONS, useExisting: BrowserSessions }],
  exports: [BrowserSessions, BROWSER_SESSIONS],
})
export class AuthModule {}
