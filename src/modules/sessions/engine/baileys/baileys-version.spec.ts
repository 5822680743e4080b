import { DEFAULT_CONNECTION_CONFIG } from '@whiskeysockets/baileys';
import { WA_WEB_VERSION } from './baileys-version';

describe('WA_WEB_VERSION', () => {
  it('is the version the installed Baileys ships with', () => {
    expect(WA_WEB_VERSION).toEqual(DEFAULT_CONNECTION_CONFIG.version);
  });
});
