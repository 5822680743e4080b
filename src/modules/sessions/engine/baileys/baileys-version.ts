import type { WAVersion } from '@whiskeysockets/baileys';

/**
 * The WhatsApp Web version every socket announces: the one Baileys
 * 7.0.0-rc14 ships with. Pinned here, in one place, instead of
 * fetchLatestBaileysVersion(), which needs the internet at boot and would make
 * the client's behaviour depend on the day it started. Bump it together with
 * the Baileys version (baileys-version.spec.ts fails when they drift).
 */
export const WA_WEB_VERSION: WAVersion = [2, 3000, 1043857760];

/** The browser identity shown in the phone's "Linked devices" list. */
export const WA_BROWSER: [string, string, string] = ['Mac OS', 'Chrome', '14.4.1'];
