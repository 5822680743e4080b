import { Curve, proto, type BinaryNode } from '@whiskeysockets/baileys';
import { ConflictError, ValidationError } from '../../../common/errors/domain-errors';
import type { Account } from './account-registry';
import { child, contentBytes, iqError, iqResult, SERVER_JID, unixNow } from './binary-node';
import { buildPairSuccess, newRef, openKeyBundle, unwrapEphemeral, wrapEphemeral, type LinkCodeSecrets } from './fake-phone';
import type { NetworkContext } from './network-context';
import type { ParsedQr } from './qr-code';
import type { SandboxConnection } from './sandbox-connection';

export interface LinkedDevice {
  account: Account;
  deviceId: number;
}

interface PairingState {
  refs: string[];
  identityKey: Buffer;
  retiredAdvSecrets: Set<string>;
  rotationRequested: boolean;
  inFlight: { deviceId: number; account: Account; settle(error?: Error): void } | null;
  linkCode: { phone: string; ref: string; wrappedCompanionEphemeral: Buffer; secrets: LinkCodeSecrets | null } | null;
  /** Callers of enterPairingCode waiting for the companion_hello (Baileys sends it without waiting for an answer). */
  linkCodeWaiters: Array<() => void>;
}

/** How long enterPairingCode waits for a companion_hello still in flight. */
const LINK_CODE_WAIT_MS = 5000;

/**
 * Linking a new companion, as the server and the user's phone do it:
 *
 * - QR: a registration connection gets a `pair-device` iq with refs (Baileys
 *   rotates through them, one QR per ref); a scan checks the QR against the
 *   connection and answers `pair-success`; the companion replies
 *   `pair-device-sign`; the server asks it to reconnect (`stream:error 515`),
 *   after which it logs in.
 * - Pairing code: `link_code_companion_reg` companion_hello; the phone "types"
 *   the code, which unwraps the companion's ephemeral key; both sides derive
 *   the adv secret; then the same `pair-success` path.
 * - companion_reg_refresh: the server can retire the adv secret shown in the
 *   current QR; only a QR with a new secret is accepted afterwards.
 */
export class CompanionPairing {
  private readonly states = new WeakMap<SandboxConnection, PairingState>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly ctx: NetworkContext,
    private readonly confirmTimeoutMs = 15_000,
  ) {}

  isPairing(connection: SandboxConnection): boolean {
    return this.states.has(connection);
  }

  /** A companion connected with a registration payload: issue refs so it can show QR codes. */
  begin(connection: SandboxConnection, payload: proto.ClientPayload): void {
    const refs = Array.from({ length: this.ctx.settings.qrRefCount }, () => newRef());
    this.states.set(connection, {
      refs,
      identityKey: Buffer.from(payload.devicePairingData?.eIdent ?? []),
      retiredAdvSecrets: new Set(),
      rotationRequested: false,
      inFlight: null,
      linkCode: null,
      linkCodeWaiters: [],
    });
    connection.send({
      tag: 'iq',
      attrs: { from: SERVER_JID, type: 'set', id: `pair-device-${connection.id}`, xmlns: 'md', t: unixNow() },
      content: [{ tag: 'pair-device', attrs: {}, content: refs.map((ref) => ({ tag: 'ref', attrs: {}, content: Buffer.from(ref) })) }],
    });
  }

  /** The phone scanned `qr`: checks it against the connection and links the companion to `phone`. */
  scan(connection: SandboxConnection, qr: ParsedQr, phone: string): Promise<LinkedDevice> {
    const state = this.require(connection);
    if (!state.refs.includes(qr.ref)) {
      throw new ConflictError('The QR ref was not issued to this session\'s current connection (stale QR from an earlier connection?)');
    }
    if (connection.clientStaticKey && !qr.noiseKey.equals(connection.clientStaticKey)) {
      throw new ConflictError('The QR noise key is not the key this session connected with');
    }
    if (state.identityKey.length && !qr.identityKey.equals(state.identityKey)) {
      throw new ConflictError('The QR identity key is not the one this session registered with');
    }
    if (state.retiredAdvSecrets.has(qr.advSecretB64)) {
      throw new ConflictError(
        'The QR carries an adv secret retired by companion_reg_refresh: the companion must generate a new adv secret and re-render its QR',
      );
    }
    if (this.ctx.settings.requireAdvRotation && !state.rotationRequested) {
      this.requestAdvRotation(connection, qr);
      throw new ConflictError(
        'The phone asked the companion to rotate its adv secret (companion_reg_refresh, as WhatsApp does after a first scan); scan the re-rendered QR',
      );
    }
    return this.link(connection, state, { phone, advSecret: qr.advSecret, clientIdentityKey: qr.identityKey });
  }

  /**
   * Sends `<notification type="companion_reg_refresh">` and retires the adv
   * secret of `shownQr` (the QR the companion showed until now).
   */
  requestAdvRotation(connection: SandboxConnection, shownQr?: ParsedQr): void {
    const state = this.require(connection);
    state.rotationRequested = true;
    if (shownQr) state.retiredAdvSecrets.add(shownQr.advSecretB64);
    connection.send({
      tag: 'notification',
      attrs: { from: SERVER_JID, type: 'companion_reg_refresh', id: `crr-${connection.id}-${state.retiredAdvSecrets.size}`, t: unixNow() },
      content: [{ tag: 'companion_reg_refresh', attrs: {} }],
    });
  }

  /** The phone's user typed `code` (from the companion's requestPairingCode) into the phone. */
  async enterPairingCode(connection: SandboxConnection, code: string): Promise<LinkedDevice> {
    const state = this.require(connection);
    const link = state.linkCode ?? (await this.waitForLinkCode(state));
    if (!link) throw new ConflictError('The session did not request a pairing code');
    if (state.inFlight) throw new ConflictError('A pairing is already in progress for this session');
    const normalized = code.replace(/[-\s]/g, '').toUpperCase();
    if (!/^[A-Z0-9]{8}$/.test(normalized)) throw new ValidationError('A pairing code has 8 letters or digits');
    const account = this.ctx.registry.ensure(link.phone);
    const primaryEphemeral = Curve.generateKeyPair();
    const companionEphemeral = await unwrapEphemeral(link.wrappedCompanionEphemeral, normalized);
    link.secrets = { primaryEphemeral, companionEphemeral, primaryIdentity: account.primaryIdentity };
    const wrappedPrimary = await wrapEphemeral(primaryEphemeral.public, normalized);
    const linked = this.await(state, account);
    connection.send({
      tag: 'notification',
      attrs: { from: SERVER_JID, type: 'link_code_companion_reg', id: `lcr-${connection.id}`, t: unixNow() },
      content: [
        {
          tag: 'link_code_companion_reg',
          attrs: { stage: 'primary_hello' },
          content: [
            { tag: 'link_code_pairing_ref', attrs: {}, content: Buffer.from(link.ref) },
            { tag: 'primary_identity_pub', attrs: {}, content: account.primaryIdentity.public },
            { tag: 'link_code_pairing_wrapped_primary_ephemeral_pub', attrs: {}, content: wrappedPrimary },
          ],
        },
      ],
    });
    return linked;
  }

  /** Stanzas from a connection that is not logged in (it may be pairing). */
  async handleNode(connection: SandboxConnection, node: BinaryNode): Promise<void> {
    if (node.tag !== 'iq') return;
    const state = this.states.get(connection);
    if (node.attrs.type === 'result') {
      if (state && child(node, 'pair-device-sign')) this.confirm(connection, state);
      return;
    }
    if (node.attrs.type === 'error') return;
    const linkCode = child(node, 'link_code_companion_reg');
    if (state && linkCode) {
      connection.send(this.linkCodeStage(connection, state, node, linkCode));
      return;
    }
    connection.send(iqResult(node));
  }

  /** The connection closed: a pairing waiting for its confirmation has failed. */
  connectionClosed(connection: SandboxConnection): void {
    this.states.get(connection)?.inFlight?.settle(
      new ConflictError('The companion closed the connection instead of confirming the pairing (did it reject the adv secret or identity?)'),
    );
    this.states.delete(connection);
  }

  dispose(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private linkCodeStage(connection: SandboxConnection, state: PairingState, node: BinaryNode, linkCode: BinaryNode): BinaryNode {
    const stage = linkCode.attrs.stage;
    if (stage === 'companion_hello') {
      const wrapped = contentBytes(child(linkCode, 'link_code_pairing_wrapped_companion_ephemeral_pub'));
      const phone = linkCode.attrs.jid?.split('@')[0]?.split(':')[0] ?? '';
      if (!wrapped || !/^\d{5,20}$/.test(phone)) return iqError(node, 400, 'bad-request');
      const ref = newRef();
      state.linkCode = { phone, ref, wrappedCompanionEphemeral: wrapped, secrets: null };
      for (const wake of state.linkCodeWaiters.splice(0)) wake();
      return iqResult(node, [
        { tag: 'link_code_companion_reg', attrs: {}, content: [{ tag: 'link_code_pairing_ref', attrs: {}, content: Buffer.from(ref) }] },
      ]);
    }
    if (stage === 'companion_finish') {
      const secrets = state.linkCode?.secrets;
      const bundle = contentBytes(child(linkCode, 'link_code_pairing_wrapped_key_bundle'));
      if (!secrets || !bundle || !state.inFlight) return iqError(node, 400, 'bad-request');
      let opened: { companionIdentity: Buffer; advSecret: Buffer };
      try {
        opened = openKeyBundle(bundle, secrets);
      } catch {
        state.inFlight.settle(new ConflictError('Wrong pairing code: the companion\'s key bundle did not decrypt'));
        return iqError(node, 401, 'not-authorized');
      }
      const { account, deviceId } = state.inFlight;
      // Answer the iq first: Baileys awaits it before it handles the pair-success.
      setImmediate(() =>
        connection.send(
          buildPairSuccess({
            clientIdentityKey: opened.companionIdentity,
            advSecret: opened.advSecret,
            accountKey: account.primaryIdentity,
            phone: account.phone,
            lid: account.lid,
            deviceId,
          }),
        ),
      );
      return iqResult(node);
    }
    return iqResult(node);
  }

  private link(connection: SandboxConnection, state: PairingState, input: { phone: string; advSecret: Buffer; clientIdentityKey: Buffer }): Promise<LinkedDevice> {
    if (state.inFlight) throw new ConflictError('A pairing is already in progress for this session');
    const account = this.ctx.registry.ensure(input.phone);
    const linked = this.await(state, account);
    connection.send(
      buildPairSuccess({
        clientIdentityKey: input.clientIdentityKey,
        advSecret: input.advSecret,
        accountKey: account.primaryIdentity,
        phone: account.phone,
        lid: account.lid,
        deviceId: state.inFlight!.deviceId,
      }),
    );
    return linked;
  }

  /** Registers an in-flight link that settles on `pair-device-sign`, a close, or a timeout. */
  private await(state: PairingState, account: Account): Promise<LinkedDevice> {
    const deviceId = account.allocateCompanionId();
    return new Promise<LinkedDevice>((resolve, reject) => {
      const timer = setTimeout(
        () => state.inFlight?.settle(new ConflictError(`The companion did not confirm the pairing within ${this.confirmTimeoutMs} ms`)),
        this.confirmTimeoutMs,
      );
      this.timers.add(timer);
      state.inFlight = {
        account,
        deviceId,
        settle: (error?: Error) => {
          clearTimeout(timer);
          this.timers.delete(timer);
          state.inFlight = null;
          if (error) reject(error);
          else resolve({ account, deviceId });
        },
      };
    });
  }

  /** `pair-device-sign` arrived: the device exists now; ask the companion to reconnect and log in. */
  private confirm(connection: SandboxConnection, state: PairingState): void {
    const inFlight = state.inFlight;
    if (!inFlight) return;
    inFlight.account.device(inFlight.deviceId);
    inFlight.account.kind = 'session';
    connection.send({ tag: 'stream:error', attrs: { code: '515' } });
    this.states.delete(connection);
    inFlight.settle();
  }

  private async waitForLinkCode(state: PairingState): Promise<PairingState['linkCode']> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, LINK_CODE_WAIT_MS);
      this.timers.add(timer);
      state.linkCodeWaiters.push(() => {
        clearTimeout(timer);
        this.timers.delete(timer);
        resolve();
      });
    });
    return state.linkCode;
  }

  private require(connection: SandboxConnection): PairingState {
    const state = this.states.get(connection);
    if (!state) throw new ConflictError('The session is not waiting to be paired (already logged in?)');
    return state;
  }
}
