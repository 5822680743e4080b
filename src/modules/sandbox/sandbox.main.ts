import { SandboxNetwork } from './network/sandbox-network';
import type { SandboxLogger } from './network/sandbox-network.types';
import { parseSandboxStandaloneConfig, type SandboxStandaloneConfig } from './sandbox-standalone.config';

/**
 * `npm run sandbox`: the fake WhatsApp network on its own, with the HTTP
 * control API, for ZapHub processes started with SANDBOX=true,
 * SANDBOX_URL and SANDBOX_ROOT_KEY (multi-process tests, manual trials), and
 * SANDBOX_MEDIA_CA (base64 of the media server's test CA) to trust its media
 * server. Prints those values on stdout as `KEY=value` lines.
 */
async function main(): Promise<void> {
  let config: SandboxStandaloneConfig;
  try {
    config = parseSandboxStandaloneConfig(process.env);
  } catch (error) {
    process.stderr.write(`Invalid sandbox configuration:\n${(error as Error).message}\n`);
    process.exit(1);
  }
  const network = new SandboxNetwork({
    host: config.SANDBOX_HOST,
    port: config.SANDBOX_PORT,
    deliveryReceiptMs: config.SANDBOX_DELIVERY_RECEIPT_MS,
    readReceiptMs: config.SANDBOX_READ_RECEIPT_MS,
    controlApi: true,
    logger: stderrLogger(config.LOG_LEVEL),
  });
  await network.start();
  process.stderr.write('WARNING: this is a FAKE WhatsApp network for tests. Nothing sent here reaches WhatsApp.\n');
  process.stdout.write(
    [
      `SANDBOX_URL=${network.wsUrl}`,
      `SANDBOX_ROOT_KEY=${network.rootPublicKey.toString('base64')}`,
      `SANDBOX_MEDIA_CA=${Buffer.from(network.mediaCaPem).toString('base64')}`,
      `SANDBOX_CONTROL_URL=${network.httpUrl}/control`,
      '',
    ].join('\n'),
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${signal}: closing the sandbox\n`);
    void network.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

function stderrLogger(level: SandboxStandaloneConfig['LOG_LEVEL']): SandboxLogger {
  const threshold = LEVELS.indexOf(level);
  const write = (at: (typeof LEVELS)[number], message: string) => {
    if (LEVELS.indexOf(at) >= threshold) process.stderr.write(`${new Date().toISOString()} ${at.toUpperCase()} ${message}\n`);
  };
  return {
    log: (message) => write('info', message),
    warn: (message) => write('warn', message),
    error: (message) => write('error', message),
    debug: (message) => write('debug', message),
  };
}

main().catch((error: unknown) => {
  process.stderr.write(`Sandbox failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
