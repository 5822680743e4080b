import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** `ZapHub/<version>`, the version from ZapHub's package.json (found once, from src/, dist/ or a test build). */
export const ZAPHUB_USER_AGENT = `ZapHub/${readVersion()}`;

function readVersion(): string {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'zaphub' && pkg.version) return pkg.version;
  }
  return '0.0.0';
}
