import { AccountRegistry, MAX_OFFLINE_STANZAS, PHANTOM_COMPANION_ID } from './account-registry';
import { PreKeyStore } from './prekey-store';

const keys = () =>
  PreKeyStore.fromUpload({
    tag: 'iq',
    attrs: {},
    content: [
      { tag: 'registration', attrs: {}, content: Buffer.from([0, 0, 0, 1]) },
      { tag: 'identity', attrs: {}, content: Buffer.alloc(32, 1) },
      { tag: 'skey', attrs: {}, content: [] },
    ],
  });

describe('account registry', () => {
  it('creates accounts on first use with a stable, distinct LID', () => {
    const a = new AccountRegistry();
    const b = new AccountRegistry();
    const x = a.ensure('5511999990001');
    expect(a.ensure('5511999990001')).toBe(x);
    expect(x.lid).toMatch(/^2\d{14}$/);
    expect(b.ensure('5511999990001').lid).toBe(x.lid); // same number, same LID after a restart
    expect(a.ensure('5511999990002').lid).not.toBe(x.lid);
    expect(a.resolve(x.lid, 'lid')).toBe(x);
    expect(a.resolve('5511999990001', 's.whatsapp.net')).toBe(x);
    expect(a.resolve('999999999999999', 'lid')).toBeUndefined();
    expect(a.resolve('abc', 's.whatsapp.net')).toBeUndefined();
  });

  it('reports the primary phone for a lone companion, and a phantom companion to a lone device asking about itself', () => {
    const registry = new AccountRegistry();
    const session = registry.ensure('5511999990003');
    expect(session.reportedDeviceIds(false)).toEqual([]); // no keys yet: nothing to encrypt for
    session.device(4).keys = keys();
    expect(session.reportedDeviceIds(false)).toEqual([0, 4]);
    expect(session.reportedDeviceIds(true)).toEqual([0, 4]);
    expect(session.isPhantom(0)).toBe(true);
    expect(session.bundleSource(0)).toBe(session.devices.get(4)!.keys);

    const contact = registry.ensure('5511999990004');
    contact.device(0).keys = keys();
    expect(contact.reportedDeviceIds(false)).toEqual([0]);
    expect(contact.reportedDeviceIds(true)).toEqual([0, PHANTOM_COMPANION_ID]);
    expect(contact.isPhantom(PHANTOM_COMPANION_ID)).toBe(true);
  });

  it('never reuses a companion id and refuses removed devices', () => {
    const account = new AccountRegistry().ensure('5511999990005');
    expect(account.allocateCompanionId()).toBe(1);
    account.device(1);
    account.remove(1);
    expect(account.isRemoved(1)).toBe(true);
    expect(account.allocateCompanionId()).toBe(2);
  });

  it('bounds what it keeps for an offline device', () => {
    const device = new AccountRegistry().ensure('5511999990006').device(1);
    for (let i = 0; i < MAX_OFFLINE_STANZAS + 5; i++) device.queueOffline({ tag: 'message', attrs: { id: String(i) } });
    const queued = device.takeOffline();
    expect(queued).toHaveLength(MAX_OFFLINE_STANZAS);
    expect(queued[0]!.attrs.id).toBe('5');
    expect(device.takeOffline()).toEqual([]);
  });
});

describe('messages a device never receipted (kept until its receipt, as on WhatsApp)', () => {
  const message = (id: string) => ({ tag: 'message', attrs: { id, from: 'x@lid' } });
  const connectionA = {};
  const connectionB = {};

  it('goes back to the front of the offline queue, in delivery order and marked offline, when the connection closes', () => {
    const device = new AccountRegistry().ensure('5511999990007').device(1);
    device.queueOffline({ tag: 'message', attrs: { id: 'queued', offline: '1' } });
    for (const id of ['m1', 'm2', 'm3']) device.delivered(connectionA, message(id));
    device.delivered(connectionA, { tag: 'receipt', attrs: { id: 'r1' } }); // only messages are owed
    device.receipted(['m2']);
    expect(device.unreceiptedCount).toBe(2);
    expect(device.connectionClosed(connectionA)).toBe(2);
    expect(device.unreceiptedCount).toBe(0);
    const queued = device.takeOffline();
    expect(queued.map((s) => s.attrs.id)).toEqual(['m1', 'm3', 'queued']);
    expect(queued.every((s) => s.attrs.offline === '1')).toBe(true);
  });

  it('keeps what another connection of the device owes, and forgets receipted messages', () => {
    const device = new AccountRegistry().ensure('5511999990008').device(1);
    device.delivered(connectionA, message('a1'));
    device.delivered(connectionB, message('b1'));
    device.receipted(['a1', 'unknown']);
    expect(device.connectionClosed(connectionA)).toBe(0);
    expect(device.takeOffline()).toEqual([]);
    expect(device.connectionClosed(connectionB)).toBe(1);
    expect(device.takeOffline().map((s) => s.attrs.id)).toEqual(['b1']);
  });

  it('a re-delivery is owed by the connection it went to', () => {
    const device = new AccountRegistry().ensure('5511999990009').device(1);
    device.delivered(connectionA, message('m1'));
    device.connectionClosed(connectionA);
    const [again] = device.takeOffline();
    device.delivered(connectionB, again!);
    expect(device.connectionClosed(connectionA)).toBe(0);
    expect(device.connectionClosed(connectionB)).toBe(1);
    expect(device.takeOffline().map((s) => s.attrs.id)).toEqual(['m1']);
  });

  it('is bounded like the offline queue (the oldest go first)', () => {
    const device = new AccountRegistry().ensure('5511999990010').device(1);
    for (let i = 0; i < MAX_OFFLINE_STANZAS + 5; i++) device.delivered(connectionA, message(`u${i}`));
    expect(device.unreceiptedCount).toBe(MAX_OFFLINE_STANZAS);
    device.queueOffline({ tag: 'message', attrs: { id: 'queued' } });
    expect(device.connectionClosed(connectionA)).toBe(MAX_OFFLINE_STANZAS);
    const queued = device.takeOffline();
    expect(queued).toHaveLength(MAX_OFFLINE_STANZAS);
    expect(queued[0]!.attrs.id).toBe('u6');
    expect(queued[queued.length - 1]!.attrs.id).toBe('queued');
  });
});
