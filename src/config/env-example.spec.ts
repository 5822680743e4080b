import { readFileSync } from 'node:fs';
import path from 'node:path';
import { baseConfigSchema } from './config.schema';
import { parseConfig } from './load-config';

/** .env.example documents every variable of the schema, with the schema's default. */
function readExample(): Map<string, string> {
  const text = readFileSync(path.join(__dirname, '..', '..', '.env.example'), 'utf8');
  const entries = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) entries.set(m[1], m[2].replace(/^"(.*)"$/, '$1'));
  }
  return entries;
}

describe('.env.example', () => {
  const example = readExample();

  it('lists exactly the variables of the config schema', () => {
    expect([...example.keys()].sort()).toEqual(Object.keys(baseConfigSchema.shape).sort());
  });

  it('shows the defaults the schema applies', () => {
    const required = { DATABASE_URL: 'postgresql://x@h/db', REDIS_URL: 'redis://h', API_KEY: 'test-api-key-0123456789abcdef' };
    const fromExample = parseConfig({ ...Object.fromEntries(example), ...required, INSTANCE_ID: 'same' });
    const fromDefaults = parseConfig({ ...required, INSTANCE_ID: 'same' });
    expect(fromExample).toEqual(fromDefaults);
  });
});
