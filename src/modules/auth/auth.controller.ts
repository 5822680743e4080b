import { Body, Controller, Delete, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiBody, ApiNoContentResponse, ApiOperation, ApiSecurity, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { WithoutCredentials } from '../../common/guards/api-key.guard';
import { SignInDto } from './auth.dto';
import { BrowserSessions } from './browser-sessions.service';
import { isPlainLoopbackHttp } from './cookie-security';
import { clearedSessionCookie, SESSION_COOKIE_NAME, serializeSessionCookie } from './session-cookie';

@ApiTags('auth')
@Controller('api/auth/session')
export class AuthController {
  constructor(private readonly sessions: BrowserSessions) {}

  @Post()
  @WithoutCredentials()
  @HttpCode(204)
  @ApiOperation({
    summary: 'Browser sign-in: trade the API key for a session cookie',
    description:
      `Sets \`${SESSION_COOKIE_NAME}\` (HttpOnly, SameSite=Strict, Path=/, Secure unless the request came over plain HTTP on loopback), ` +
      'valid for AUTH_SESSION_TTL_SECONDS, accepted like X-Api-Key by every /api route, /dashboard and /admin/queues. ' +
      'Requests that change state and are authenticated by the cookie must carry X-Requested-With (else 403).',
    // The one /api route open without credentials: it checks the key itself.
    security: [],
  })
  @ApiBody({ type: SignInDto, required: false })
  @ApiNoContentResponse({ description: 'Signed in: the cookie is in Set-Cookie' })
  @ApiUnauthorizedResponse({ description: 'Missing or wrong API key' })
  async signIn(@Body() body: SignInDto, @Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<void> {
    const header = req.headers['x-api-key'];
    // A request without a body has none at all (undefined), not {}.
    const value = await this.sessions.signIn((body as SignInDto | undefined)?.apiKey ?? (Array.isArray(header) ? header[0] : header));
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Set-Cookie', serializeSessionCookie(value, { maxAgeSeconds: this.sessions.ttlSeconds, secure: !isPlainLoopbackHttp(req) }));
  }

  @Delete()
  @HttpCode(204)
  @ApiSecurity('api-key')
  @ApiOperation({
    summary: 'Sign out: revoke the session cookie on the server and clear it',
    description: 'Needs the session cookie (401 without one, or once revoked or expired) and, like every cookie state change, X-Requested-With.',
  })
  @ApiNoContentResponse({ description: 'Signed out: the cookie is revoked on every replica and cleared in the browser' })
  async signOut(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<void> {
    await this.sessions.signOut(req.headers.cookie);
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Set-Cookie', clearedSessionCookie(!isPlainLoopbackHttp(req)));
  }
}
