import type { AddressInfo } from 'node:net';
import type { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import { createApp } from '../../src/bootstrap/create-app';
import { createTestEnv, TEST_API_KEY, type TestEnv } from './test-env';

export interface TestApp {
  app: NestExpressApplication;
  env: TestEnv;
  baseUrl: string;
  /** supertest agent bound to the listening server. */
  http: ReturnType<typeof request>;
  apiKey: string;
  close(): Promise<void>;
}

/** Boots the real application on a random loopback port against a private database and Redis prefix. */
export async function startTestApp(overrides: Record<string, string> = {}, existingEnv?: TestEnv): Promise<TestApp> {
  const env = existingEnv ?? (await createTestEnv(overrides));
  const app = await createApp(existingEnv ? { ...env.config, ...parseOverrides(env, overrides) } : env.config);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    app,
    env,
    baseUrl,
    http: request(baseUrl),
    apiKey: TEST_API_KEY,
    async close() {
      await app.close();
      if (!existingEnv) await env.cleanup();
    },
  };
}

function parseOverrides(env: TestEnv, overrides: Record<string, string>) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { parseConfig } = require('../../src/config') as typeof import('../../src/config');
  return parseConfig({ ...env.env, ...overrides });
}
