import { isIP } from 'node:net';
import type { Request } from 'express';

/** 127.0.0.0/8, ::1 and their IPv4-mapped IPv6 forms. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(v4) === 4) return v4.startsWith('127.');
  return address === '::1';
}

/**
 * Whether the cookie may go without `Secure`: only for plain HTTP between a
 * browser and ZapHub on the same machine (`npm run dev`, the README's
 * http://127.0.0.1:3000), where a Secure cookie would never be sent back.
 * Both the socket's peer and the client address `trust proxy` derives must be
 * loopback and the scheme (X-Forwarded-Proto behind a proxy) plain http: a
 * local TLS-terminating proxy gets `Secure`, and so does everything remote.
 */
export function isPlainLoopbackHttp(req: Request): boolean {
  return req.protocol === 'http' && isLoopbackAddress(req.socket.remoteAddress) && isLoopbackAddress(req.ip);
}
