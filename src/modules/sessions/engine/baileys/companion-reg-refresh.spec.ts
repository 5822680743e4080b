import { CompanionRegRefresh } from './companion-reg-refresh';
import { formatPairingQr, parsePairingQr } from './pairing-qr';

const qrFor = (ref: string, adv: string) =>
  formatPairingQr({ ref, noiseKeyB64: 'bm9pc2U=', identityKeyB64: 'aWRlbnRpdHk=', advSecretB64: adv, platform: '1' });

function setup() {
  const creds = { advSecretKey: 'OLD' };
  const emitted: string[] = [];
  let saves = 0;
  let n = 0;
  const handler = new CompanionRegRefresh({
    creds,
    persistCreds: () => void saves++,
    emitQr: (qr) => void emitted.push(qr),
    pairingCodeFlowMs: 50,
    newSecret: () => `NEW${++n}`,
  });
  return { creds, emitted, handler, saves: () => saves };
}

describe('pairing QR', () => {
  it('parses and formats the rc14 layout', () => {
    const qr = 'https://wa.me/settings/linked_devices#2@abc,bm9pc2U=,aWQ=,YWR2,1';
    expect(parsePairingQr(qr)).toEqual({ ref: '2@abc', noiseKeyB64: 'bm9pc2U=', identityKeyB64: 'aWQ=', advSecretB64: 'YWR2', platform: '1' });
    expect(formatPairingQr(parsePairingQr(qr)!)).toBe(qr);
  });

  it('keeps a ref that contains commas whole', () => {
    expect(parsePairingQr('https://wa.me/settings/linked_devices#a,b,n,i,s,1')?.ref).toBe('a,b');
  });

  it('rejects other strings', () => {
    expect(parsePairingQr('hello')).toBeNull();
    expect(parsePairingQr('https://wa.me/settings/linked_devices#a,b')).toBeNull();
  });
});

describe('CompanionRegRefresh', () => {
  it('rotates the adv secret, persists it and re-emits the current ref with the new secret', () => {
    const { creds, emitted, handler, saves } = setup();
    expect(handler.rewriteQr(qrFor('ref-1', 'OLD'))).toBe(qrFor('ref-1', 'OLD'));
    expect(handler.onRefreshNotification()).toBe('rotated');
    expect(creds.advSecretKey).toBe('NEW1');
    expect(saves()).toBe(1);
    expect(emitted).toEqual([qrFor('ref-1', 'NEW1')]);
  });

  it('rewrites later QRs that Baileys still builds with the retired secret', () => {
    const { handler } = setup();
    handler.rewriteQr(qrFor('ref-1', 'OLD'));
    handler.onRefreshNotification();
    expect(handler.rewriteQr(qrFor('ref-2', 'OLD'))).toBe(qrFor('ref-2', 'NEW1'));
    handler.onRefreshNotification();
    expect(handler.rewriteQr(qrFor('ref-3', 'OLD'))).toBe(qrFor('ref-3', 'NEW2'));
    // a secret it never retired is left alone (e.g. one derived by a pairing-code flow)
    expect(handler.rewriteQr(qrFor('ref-4', 'OTHER'))).toBe(qrFor('ref-4', 'OTHER'));
  });

  it('rotates without re-emitting when no QR was shown yet', () => {
    const { creds, emitted, handler } = setup();
    handler.onRefreshNotification();
    expect(creds.advSecretKey).toBe('NEW1');
    expect(emitted).toEqual([]);
  });

  it('defers the rotation during a pairing-code flow and applies it when the flow ends unpaired', () => {
    const { creds, emitted, handler } = setup();
    handler.rewriteQr(qrFor('ref-1', 'OLD'));
    handler.beginPairingCodeFlow();
    expect(handler.onRefreshNotification()).toBe('deferred');
    expect(creds.advSecretKey).toBe('OLD');
    handler.endPairingCodeFlow(false);
    expect(creds.advSecretKey).toBe('NEW1');
    expect(emitted).toEqual([qrFor('ref-1', 'NEW1')]);
  });

  it('applies a deferred rotation when the pairing-code flow times out', async () => {
    const { creds, handler } = setup();
    handler.beginPairingCodeFlow();
    handler.onRefreshNotification();
    await new Promise((r) => setTimeout(r, 80));
    expect(creds.advSecretKey).toBe('NEW1');
  });

  it('drops a deferred rotation when the pairing-code flow pairs, and ignores refreshes after pairing', () => {
    const { creds, handler } = setup();
    handler.beginPairingCodeFlow();
    handler.onRefreshNotification();
    handler.endPairingCodeFlow(true);
    expect(creds.advSecretKey).toBe('OLD');
    expect(handler.onRefreshNotification()).toBe('ignored');
    expect(creds.advSecretKey).toBe('OLD');
  });

  it('clears its timer on dispose', () => {
    const { creds, handler } = setup();
    handler.beginPairingCodeFlow();
    handler.onRefreshNotification();
    handler.dispose();
    expect(creds.advSecretKey).toBe('OLD');
  });
});
