import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOptions } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { ServiceUnavailableError, ValidationError } from '../../common/errors/domain-errors';
import { refusedAddressReason } from './address-policy';

/** Longest URL accepted (webhook endpoints, and what else ZapHub fetches). */
export const OUTBOUND_URL_MAX_LENGTH = 2048;
/** How long registration waits for DNS before answering 503. */
const DEFAULT_RESOLVE_TIMEOUT_MS = 5000;
/** DNS answers meaning "this name does not exist": the client's mistake (400), not an outage. */
const NOT_FOUND_CODES = new Set(['ENOTFOUND', 'ENODATA', 'EAI_NONAME', 'EAI_NODATA', 'NXDOMAIN']);

/** `code` of the error the guarded lookup fails a connection with. */
export const ADDRESS_REFUSED_CODE = 'ERR_ZAPHUB_ADDRESS_REFUSED';

/** `dns.lookup` with `all: true`: every address of a name. */
export type LookupAll = (
  hostname: string,
  options: LookupAllOptions,
  callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

/**
 * Why a URL is refused: `invalid` (its shape), `refused-address` (it is or
 * resolves to a refused address), `unresolvable` (the name does not exist):
 * the client's mistake; `dns-unavailable`: DNS did not answer (in time), so
 * nothing is known yet.
 */
export type RefusalKind = 'invalid' | 'refused-address' | 'unresolvable' | 'dns-unavailable';

/** What the guard decided about a URL. `reason` completes a sentence starting with the field's name. */
export type UrlVerdict = { allowed: true } | { allowed: false; kind: RefusalKind; reason: string };

export interface OutboundUrlGuardOptions {
  /** WEBHOOK_ALLOW_PRIVATE: lifts the address check (the URL's shape is still checked). */
  allowPrivate: boolean;
  /** Name resolution; defaults to the system resolver (dns.lookup, so /etc/hosts counts). */
  lookupAll?: LookupAll;
  resolveTimeoutMs?: number;
}

/**
 * What is wrong with `value` as an outbound URL, or null: absolute `http` or
 * `https`, a host, no credentials, at most 2048 characters. Pure (no DNS):
 * DTO validators use it.
 */
export function urlShapeProblem(value: string): string | null {
  if (value.length > OUTBOUND_URL_MAX_LENGTH) return `must be at most ${OUTBOUND_URL_MAX_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute http:// or https:// URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http:// or https:// URL';
  if (!url.hostname) return 'must name a host';
  if (url.username || url.password) return 'must not contain credentials (user:password@)';
  return null;
}

/**
 * The SSRF guard of every outbound request ZapHub makes on a client's behalf
 * (webhook deliveries; media URLs use it too). One place decides which
 * addresses are refused (`address-policy.ts`: request-filtering-agent's rule,
 * through its ipaddr.js) and applies it twice:
 *
 * - at registration, `check(url)`: the URL's shape, then the host: an IP
 *   literal is judged as it is; `localhost` and `*.localhost` are loopback
 *   (RFC 6761) without asking DNS; `*.invalid` never resolves (RFC 6761); any
 *   other name is resolved and refused when ANY of its addresses is refused (a
 *   name answering with a public and a private address is refused). A name
 *   that does not exist is refused ("cannot be resolved"); DNS not answering
 *   within 5 s is transient (503, retry later), not the client's fault.
 * - at connect time, `lookup`: a `dns.lookup`-compatible hook for
 *   `http.request`/`https.request`/`net.connect` that re-checks the addresses
 *   the connection is actually about to use, so a name that changed to a
 *   private address after registration (DNS rebinding) is refused then. Node
 *   does not call `lookup` for IP literals: call `check(url)` before each
 *   attempt too (it is cheap for literals and catches a config change).
 *
 * With `allowPrivate` (WEBHOOK_ALLOW_PRIVATE=true, for tests and the sandbox)
 * only the URL's shape is checked and `lookup` is plain `dns.lookup`.
 */
export class OutboundUrlGuard {
  private readonly lookupAll: LookupAll;
  private readonly resolveTimeoutMs: number;

  constructor(private readonly options: OutboundUrlGuardOptions) {
    this.lookupAll = options.lookupAll ?? (dnsLookup as LookupAll);
    this.resolveTimeoutMs = options.resolveTimeoutMs ?? DEFAULT_RESOLVE_TIMEOUT_MS;
  }

  get allowsPrivate(): boolean {
    return this.options.allowPrivate;
  }

  /** Why a connection to `address` (an IP) is refused, or null (always null with allowPrivate). */
  addressProblem(address: string): string | null {
    return this.options.allowPrivate ? null : refusedAddressReason(address);
  }

  async check(value: string): Promise<UrlVerdict> {
    const shape = urlShapeProblem(value);
    if (shape) return refused('invalid', shape);
    if (this.options.allowPrivate) return { allowed: true };
    const host = hostOf(new URL(value));
    if (isIP(host)) {
      const problem = refusedAddressReason(host);
      return problem ? refused('refused-address', `must not point to ${host}: it ${problem} (WEBHOOK_ALLOW_PRIVATE=true allows it)`) : { allowed: true };
    }
    const name = host.replace(/\.$/, '').toLowerCase();
    if (name === 'localhost' || name.endsWith('.localhost')) {
      return refused('refused-address', `must not point to ${host}: it is a loopback name (WEBHOOK_ALLOW_PRIVATE=true allows it)`);
    }
    if (name === 'invalid' || name.endsWith('.invalid')) return refused('unresolvable', `cannot be resolved (no address for ${host})`);

    let addresses: LookupAddress[];
    try {
      addresses = await withTimeout(this.resolve(host), this.resolveTimeoutMs);
    } catch (error) {
      if (error instanceof ResolveTimeout) return refused('dns-unavailable', `DNS did not resolve ${host} within ${this.resolveTimeoutMs / 1000} s, retry later`);
      const code = (error as { code?: string } | null)?.code;
      if (code && NOT_FOUND_CODES.has(code)) return refused('unresolvable', `cannot be resolved (no address for ${host})`);
      return refused('dns-unavailable', `DNS could not resolve ${host} right now (${code ?? 'error'}), retry later`);
    }
    if (!addresses.length) return refused('unresolvable', `cannot be resolved (no address for ${host})`);
    for (const { address } of addresses) {
      const problem = refusedAddressReason(address);
      if (problem) return refused('refused-address', `must not point to ${host}: it resolves to ${address}, which ${problem} (WEBHOOK_ALLOW_PRIVATE=true allows it)`);
    }
    return { allowed: true };
  }

  /**
   * `check(url)` as domain errors: a ValidationError naming `field` (400), or
   * a ServiceUnavailableError (503 + Retry-After) when DNS did not answer.
   */
  async assertAllowed(value: string, field: string): Promise<void> {
    const verdict = await this.check(value);
    if (verdict.allowed) return;
    if (verdict.kind === 'dns-unavailable') throw new ServiceUnavailableError(`${field}: ${verdict.reason}`);
    throw new ValidationError(`${field} ${verdict.reason}`, [{ field, message: `${field} ${verdict.reason}` }]);
  }

  /**
   * A `lookup` for connections (http/https/net options, or an agent's
   * `connect` options): resolves like `dns.lookup` and fails the connection
   * with an error of code ERR_ZAPHUB_ADDRESS_REFUSED when any resolved address
   * is refused. The delivery client's connect-time check against DNS
   * rebinding.
   */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    const reply = callback as unknown as (error: NodeJS.ErrnoException | null, address?: string | LookupAddress[], family?: number) => void;
    this.lookupAll(hostname, { ...(options as LookupOptions), all: true }, (error, addresses) => {
      if (error) return reply(error);
      for (const { address } of addresses) {
        const problem = this.addressProblem(address);
        if (problem) {
          return reply(Object.assign(new Error(`connection to ${hostname} refused: it resolves to ${address}, which ${problem}`), { code: ADDRESS_REFUSED_CODE }));
        }
      }
      if ((options as LookupOptions).all) return reply(null, addresses);
      const first = addresses[0];
      if (!first) return reply(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }));
      reply(null, first.address, first.family);
    });
  };

  private resolve(hostname: string): Promise<LookupAddress[]> {
    return new Promise((resolve, reject) => this.lookupAll(hostname, { all: true }, (error, addresses) => (error ? reject(error) : resolve(addresses))));
  }
}

/** The URL's host without IPv6 brackets. */
function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

function refused(kind: RefusalKind, reason: string): UrlVerdict {
  return { allowed: false, kind, reason };
}

class ResolveTimeout extends Error {}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ResolveTimeout()), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Injection token of the process's OutboundUrlGuard (built from WEBHOOK_ALLOW_PRIVATE). */
export const OUTBOUND_URL_GUARD = Symbol('OUTBOUND_URL_GUARD');
