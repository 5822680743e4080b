import { execFileSync } from 'node:child_process';
import { refusedAddressReason } from './address-policy';

/** Every class the SSRF guard refuses, IPv4 and IPv6, with one address each (and a few more). */
const REFUSED: Array<[string, RegExp]> = [
  ['127.0.0.1', /loopback/],
  ['127.255.255.254', /loopback/],
  ['10.0.0.1', /private/],
  ['172.16.0.1', /private/],
  ['172.31.255.255', /private/],
  ['192.168.1.1', /private/],
  ['169.254.169.254', /link-local/], // AWS, GCP, Azure, OpenStack metadata
  ['169.254.170.2', /link-local/], // ECS task metadata
  ['100.64.0.1', /carrier-grade NAT/],
  ['100.100.100.200', /carrier-grade NAT/], // Alibaba Cloud metadata
  ['0.0.0.0', /unspecified/],
  ['0.1.2.3', /unspecified/],
  ['224.0.0.1', /multicast/],
  ['239.255.255.250', /multicast/],
  ['255.255.255.255', /broadcast/],
  ['192.0.0.192', /reserved/], // Oracle Cloud metadata
  ['192.0.2.1', /reserved/],
  ['198.18.0.1', /reserved/],
  ['240.0.0.1', /reserved/],
  ['::1', /loopback/],
  ['::', /unspecified/],
  ['fd00::1', /unique local/],
  ['fd00:ec2::254', /unique local/], // AWS metadata over IPv6
  ['fc00::1', /unique local/],
  ['fe80::1', /link-local/],
  ['ff02::1', /multicast/],
  ['::ffff:127.0.0.1', /IPv4-mapped/],
  ['::ffff:7f00:1', /IPv4-mapped/],
  ['::ffff:169.254.169.254', /IPv4-mapped/],
  ['::ffff:8.8.8.8', /IPv4-mapped/], // refused whatever it embeds, like the connect-time agent
  ['64:ff9b::7f00:1', /special-purpose/], // NAT64
  ['2002:7f00:1::', /special-purpose/], // 6to4
  ['2001::1', /special-purpose/], // Teredo
  ['2001:db8::1', /reserved/],
];
const ALLOWED = ['93.184.216.34', '1.1.1.1', '8.8.8.8', '172.32.0.1', '100.128.0.1', '2606:4700::1111', '2a00:1450:4001:80b::200e'];

describe('refusedAddressReason (the address rule of every outbound connection)', () => {
  it.each(REFUSED)('refuses %s', (address, reason) => {
    expect(refusedAddressReason(address)).toMatch(reason);
  });

  it.each(ALLOWED)('allows the public address %s', (address) => {
    expect(refusedAddressReason(address)).toBeNull();
  });

  it('refuses what is not an IP address', () => {
    for (const value of ['localhost', 'example.com', '', '1.2.3', '[::1]']) expect(refusedAddressReason(value)).toBe('is not an IP address');
  });

  it('refuses exactly what request-filtering-agent (the connect-time agent) refuses', () => {
    // The agent is an ES module, which Jest cannot load: ask it in a plain Node process. Refused
    // addresses fail synchronously inside createConnection, before any socket connects.
    const script = `
      import { RequestFilteringHttpAgent } from 'request-filtering-agent';
      const agent = new RequestFilteringHttpAgent();
      const out = {};
      for (const address of JSON.parse(process.argv[1])) {
        let refused = false;
        const socket = agent.createConnection({ host: address, port: 9 }, (error) => { refused = Boolean(error && /is not allowed/.test(error.message)); });
        socket.destroy();
        out[address] = refused;
      }
      process.stdout.write(JSON.stringify(out));`;
    const addresses = REFUSED.map(([a]) => a);
    const verdicts = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(addresses)], { encoding: 'utf8' })) as Record<string, boolean>;
    expect(verdicts).toEqual(Object.fromEntries(addresses.map((a) => [a, true])));
  });
});
