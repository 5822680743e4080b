import { existsSync } from 'node:fs';
import path from 'node:path';
import { Logger } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import helmet from 'helmet';
import type { AppConfig } from '../../config';

/** Where the dashboard is served (CONTRACT.md "Dashboard and live events"). */
export const DASHBOARD_ROUTE = '/dashboard';

/** The built page: DASHBOARD_DIR, else dist/dashboard beside the compiled app (dist/modules/dashboard/../../dashboard). */
export function dashboardDir(config: Pick<AppConfig, 'DASHBOARD_DIR'>): string {
  return path.resolve(config.DASHBOARD_DIR ?? path.join(__dirname, '..', '..', 'dashboard'));
}

/**
 * Serves the dashboard's static files under /dashboard. They hold no data
 * (everything comes from /api with the session cookie or the key), so they are
 * served without credentials: that is how a browser with no cookie gets the
 * sign-in form. A strict Content-Security-Policy allows the page's own assets
 * only (scripts and styles from this origin, no inline code); images may also
 * be `blob:` URLs, which is how the QR PNG fetched with credentials is shown.
 * Hashed assets are cached for good, index.html never.
 */
export function mountDashboard(app: NestExpressApplication, config: Pick<AppConfig, 'DASHBOARD_DIR'>): void {
  const dir = dashboardDir(config);
  if (!existsSync(path.join(dir, 'index.html'))) {
    new Logger('Dashboard').warn(`no dashboard build in ${dir}: /dashboard answers 404 (run npm run build)`);
  }
  app.use(
    DASHBOARD_ROUTE,
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'blob:', 'data:'],
          connectSrc: ["'self'"],
          fontSrc: ["'self'"],
          objectSrc: ["'none'"],
          baseUri: ["'none'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
        },
      },
    }),
  );
  app.useStaticAssets(dir, {
    prefix: DASHBOARD_ROUTE,
    index: 'index.html',
    fallthrough: true,
    setHeaders: (res, file) => {
      const immutable = file.includes(`${path.sep}assets${path.sep}`);
      res.setHeader('Cache-Control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
}
