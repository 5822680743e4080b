import type { IncomingMessage, ServerResponse } from 'node:http';
import { DomainError, NotFoundError, ValidationError } from '../../../common/errors/domain-errors';
import { reasonPhrase } from '../../../common/filters/http-exception.filter';
import type { SandboxNetwork } from './sandbox-network';
import type { DisconnectCode } from './sandbox-network.types';

/**
 * Minimal HTTP control API served next to the WebSocket by a standalone
 * sandbox (`npm run sandbox`), so tests in other processes can drive it:
 *
 *   GET  /control/info                        {wsUrl, httpUrl, rootPublicKey (base64), mediaCa (base64 of the PEM), stats}
 *   GET  /control/sessions/:name              {state, phone}
 *   POST /control/scan                        {session, qr, phone?}        -> 200 pairing result
 *   POST /control/pairing-code                {session, code}              -> 200 pairing result
 *   POST /control/rotate-adv-secret           {session, qr}                -> 200
 *   POST /control/inbound                     {session, from, text} or {session, from, type, media?, caption?, location?, replyTo?}
 *                                                                          -> 202 {waMessageId}
 *   GET  /control/contacts/:phone/messages                                 -> 200 [ContactMessage]
 *   GET  /control/contacts/:phone/presences                                -> 200 [ContactPresence]
 *   POST /control/disconnect                  {session, code}              -> 200
 *   PUT  /control/faults                      {latencyMs?, dropRate?, refuseConnections?} -> 200 faults
 *
 * Errors are JSON `{statusCode, error, message, details?}`. No authentication:
 * the sandbox listens on loopback by default.
 */
/** Room for an inbound media file (base64) of a few MiB; the API is for tests on loopback. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;

export async function handleControlRequest(network: SandboxNetwork, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const [status, body] = await route(network, req.method ?? 'GET', url.pathname, req);
    send(res, status, body);
  } catch (error) {
    if (error instanceof DomainError) {
      send(res, error.statusCode, {
        statusCode: error.statusCode,
        error: reasonPhrase(error.statusCode),
        message: error.message,
        ...(error.details ? { details: error.details } : {}),
      });
    } else {
      send(res, 500, { statusCode: 500, error: 'Internal Server Error', message: 'Internal server error' });
    }
  }
}

async function route(network: SandboxNetwork, method: string, path: string, req: IncomingMessage): Promise<[number, unknown]> {
  const contactMessages = /^\/control\/contacts\/([^/]+)\/messages$/.exec(path);
  const contactPresences = /^\/control\/contacts\/([^/]+)\/presences$/.exec(path);
  const session = /^\/control\/sessions\/([^/]+)$/.exec(path);
  if (method === 'GET' && path === '/control/info') {
    return [
      200,
      {
        wsUrl: network.wsUrl,
        httpUrl: network.httpUrl,
        rootPublicKey: network.rootPublicKey.toString('base64'),
        mediaCa: Buffer.from(network.mediaCaPem).toString('base64'),
        stats: network.stats(),
      },
    ];
  }
  if (method === 'GET' && session) {
    const name = decodeURIComponent(session[1]!);
    return [200, { session: name, state: network.sessionState(name), phone: network.sessionPhone(name) }];
  }
  if (method === 'GET' && contactMessages) return [200, network.contactMessages(decodeURIComponent(contactMessages[1]!))];
  if (method === 'GET' && contactPresences) return [200, network.contactPresences(decodeURIComponent(contactPresences[1]!))];
  if (method === 'PUT' && path === '/control/faults') return [200, network.setFaults(await readJson(req))];
  if (method !== 'POST') throw new NotFoundError(`No control route ${method} ${path}`);

  const body = await readJson(req);
  switch (path) {
    case '/control/scan':
      return [200, await network.scan(str(body, 'session'), str(body, 'qr'), { phone: optionalStr(body, 'phone') })];
    case '/control/pairing-code':
      return [200, await network.enterPairingCode(str(body, 'session'), str(body, 'code'))];
    case '/control/rotate-adv-secret':
      network.requestAdvRotation(str(body, 'session'), str(body, 'qr'));
      return [200, { rotated: true }];
    case '/control/inbound': {
      // The message fields are checked by the network (each bad field named).
      const message: Record<string, unknown> = { ...body };
      delete message.session;
      delete message.from;
      return [202, { waMessageId: await network.inbound(str(body, 'session'), str(body, 'from'), message) }];
    }
    case '/control/disconnect': {
      const code = body.code as DisconnectCode;
      await network.disconnect(str(body, 'session'), code);
      return [200, { session: body.session, code }];
    }
    default:
      throw new NotFoundError(`No control route ${method} ${path}`);
  }
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new ValidationError('Request body is too large');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ValidationError('Request body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ValidationError('Request body must be a JSON object');
  return value as Record<string, unknown>;
}

function str(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  if (typeof value !== 'string' || !value) throw new ValidationError(`${field} is required`, [{ field, message: 'must be a non-empty string' }]);
  return value;
}

function optionalStr(body: Record<string, unknown>, field: string): string | undefined {
  return body[field] === undefined ? undefined : str(body, field);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
