import { proto, type BinaryNode } from '@whiskeysockets/baileys';
import type { Account, Device } from './account-registry';
import { child, children, childrenByTag, contentBytes, decodeJid, iqError, iqResult, SERVER_JID, unixNow } from './binary-node';
import type { NetworkContext } from './network-context';
import { PreKeyStore } from './prekey-store';
import type { SandboxConnection } from './sandbox-connection';

/** Pre-key count reported to a fresh account in fast mode: non-zero, so Baileys uploads its minimum (5) instead of 812. */
const FAST_PREKEY_COUNT = 1;
/** Message ids remembered to address receipts back the way the sender addressed the chat. */
const MAX_REMEMBERED_ADDRESSING = 20_000;

/**
 * Everything a logged-in device sends after `<success>`: iq queries (keys,
 * devices, privacy, ...), messages to relay, receipts to relay, presence. The
 * server never decrypts a message: it forwards each `<enc>` to the device it
 * was encrypted for, like WhatsApp's servers.
 */
export class StanzaHandler {
  /** `${senderPhone}/${messageId}` -> how the sender addressed the chat. */
  private readonly addressing = new Map<string, 'pn' | 'lid'>();

  constructor(private readonly ctx: NetworkContext) {}

  async handle(connection: SandboxConnection, account: Account, node: BinaryNode): Promise<void> {
    switch (node.tag) {
      case 'iq':
        return this.iq(connection, account, node);
      case 'message':
        return this.message(connection, account, node);
      case 'receipt':
        return this.receipt(connection, account, node);
      case 'presence':
        // Baileys announces its push name here; it becomes the `notify` of what it sends.
        if (node.attrs.name) account.pushName = node.attrs.name;
        return;
      case 'chatstate':
        return this.chatState(account, node);
      case 'ack':
        // A device acks a message it will not receipt (a newsletter post, one it could not decrypt): no longer owed.
        if (node.attrs.class === 'message' && node.attrs.id) account.devices.get(connection.deviceId)?.receipted([node.attrs.id]);
        return;
      default:
        // ib (telemetry), call: nothing to answer.
        return;
    }
  }

  /** `<chatstate to=...><composing/></chatstate>` (media="audio": recording), or `<paused/>`: no answer, recorded for the contact. */
  private chatState(account: Account, node: BinaryNode): void {
    const to = decodeJid(node.attrs.to);
    const target = to ? this.ctx.registry.resolve(to.user, to.server) : undefined;
    const first = children(node)[0];
    if (!target || !first) return;
    const state = first.tag === 'paused' ? 'paused' : first.tag === 'composing' ? (first.attrs.media === 'audio' ? 'recording' : 'composing') : null;
    if (state) this.ctx.chatState(account, target, state);
  }

  // ---- iq -----------------------------------------------------------------

  private async iq(connection: SandboxConnection, account: Account, node: BinaryNode): Promise<void> {
    const type = node.attrs.type;
    if (type === 'result' || type === 'error') return;
    const first = children(node)[0];
    switch (node.attrs.xmlns) {
      case 'encrypt':
        connection.send(this.encrypt(connection, account, node, first));
        return;
      case 'usync':
        connection.send(await this.usync(account, node, first));
        return;
      case 'privacy':
        if (type === 'get' && first?.tag === 'privacy') {
          connection.send(iqResult(node, [privacySettings()]));
          return;
        }
        break;
      case 'md':
        // Logout: the companion unlinks itself; later logins of this device get 401.
        if (first?.tag === 'remove-companion-device') account.remove(connection.deviceId);
        break;
      case 'w:m':
        if (first?.tag === 'media_conn') {
          connection.send(this.mediaConn(node));
          return;
        }
        break;
    }
    // Anything else (ping, props, blocklist, passive, tokens, profile, ...) succeeds with no content.
    connection.send(iqResult(node));
  }

  private encrypt(connection: SandboxConnection, account: Account, node: BinaryNode, first: BinaryNode | undefined): BinaryNode {
    const device = account.device(connection.deviceId);
    if (node.attrs.type === 'set' && (child(node, 'list') || child(node, 'registration'))) {
      if (device.keys) device.keys.update(node);
      else device.keys = PreKeyStore.fromUpload(node);
      return iqResult(node);
    }
    switch (first?.tag) {
      case 'rotate': {
        const skey = child(first, 'skey');
        if (skey) device.keys?.rotateSignedPreKey(skey);
        return iqResult(node);
      }
      case 'count': {
        const fast = this.ctx.settings.fastPreKeys || connection.tags.contact !== undefined;
        const value = device.keys ? device.keys.remaining : fast ? FAST_PREKEY_COUNT : 0;
        return iqResult(node, [{ tag: 'count', attrs: { value: String(value) } }]);
      }
      case 'key':
        return iqResult(node, [{ tag: 'list', attrs: {}, content: this.bundles(first) }]);
      case 'digest':
        // Baileys only checks that a digest comes back; without one it re-uploads its keys.
        return iqResult(node, device.keys ? [{ tag: 'digest', attrs: {}, content: [{ tag: 'identity', attrs: {}, content: device.keys.identityKey }] }] : undefined);
      default:
        return iqResult(node);
    }
  }

  /** Where to upload media: the sandbox's media server, its upload auth and how long both hold (Baileys caches them). */
  private mediaConn(node: BinaryNode): BinaryNode {
    const media = this.ctx.mediaConn();
    if (!media) return iqError(node, 503, 'service-unavailable');
    return iqResult(node, [
      {
        tag: 'media_conn',
        attrs: { auth: media.auth, ttl: String(media.ttlSeconds), auth_ttl: String(media.ttlSeconds), max_buckets: '1' },
        content: [{ tag: 'host', attrs: { hostname: media.hostname, maxContentLengthBytes: String(media.maxContentLengthBytes) } }],
      },
    ]);
  }

  /** Pre-key bundles for `<key><user jid=.../>...</key>`; a device without keys is left out. */
  private bundles(keyNode: BinaryNode): BinaryNode[] {
    return childrenByTag(keyNode, 'user').flatMap((user) => {
      const jid = decodeJid(user.attrs.jid);
      const keys = jid ? this.ctx.registry.resolve(jid.user, jid.server)?.bundleSource(jid.device) : null;
      return keys ? [{ tag: 'user', attrs: { jid: user.attrs.jid ?? '' }, content: keys.takeBundle() }] : [];
    });
  }

  /** `usync` queries: devices (with LID), contact (is it on WhatsApp: always), LID. */
  private async usync(asker: Account, node: BinaryNode, usync: BinaryNode | undefined): Promise<BinaryNode> {
    const wanted = new Set(children(child(usync, 'query')).map((c) => c.tag));
    const users = childrenByTag(child(usync, 'list'), 'user').map((user) => this.usyncUser(user));
    if (wanted.has('devices')) {
      // Whoever is about to be messaged must be able to receive: start fake contacts first.
      await Promise.all(
        users.map(async ({ account }) => {
          if (!account || account === asker) return;
          await this.ctx.ensureReachable(account).catch((error: unknown) => this.ctx.backgroundFailed(`starting contact ${account.phone}`, error));
        }),
      );
    }
    const list = users.map(({ jid, account, byLid }): BinaryNode => {
      const content: BinaryNode[] = [];
      if (wanted.has('contact')) content.push({ tag: 'contact', attrs: { type: account ? 'in' : 'out' } });
      if (wanted.has('lid') && account && !byLid) content.push({ tag: 'lid', attrs: { val: account.lidJid } });
      if (wanted.has('devices')) content.push(devicesNode(account?.reportedDeviceIds(account === asker) ?? []));
      return { tag: 'user', attrs: { jid }, content };
    });
    return iqResult(node, [
      {
        tag: 'usync',
        attrs: { sid: usync?.attrs.sid ?? '', index: '0', last: 'true' },
        content: [{ tag: 'list', attrs: {}, content: list }],
      },
    ]);
  }

  private usyncUser(user: BinaryNode): { jid: string; account: Account | undefined; byLid: boolean } {
    if (user.attrs.jid) {
      const jid = decodeJid(user.attrs.jid);
      return {
        jid: user.attrs.jid,
        account: jid ? this.ctx.registry.resolve(jid.user, jid.server) : undefined,
        byLid: jid?.server === 'lid',
      };
    }
    // onWhatsApp(): `<user><contact>+5511...</contact></user>`; every valid number exists here.
    const phone = contentBytes(child(user, 'contact'))?.toString('utf8').replace(/\D/g, '') ?? '';
    const account = this.ctx.registry.resolve(phone, 's.whatsapp.net');
    return { jid: `${phone}@s.whatsapp.net`, account, byLid: false };
  }

  // ---- messages and receipts ---------------------------------------------

  private message(connection: SandboxConnection, sender: Account, node: BinaryNode): void {
    const id = node.attrs.id ?? '';
    // A dropped message is lost on its way to the server: no ack (SERVER_ACK), no delivery. The
    // sender learns it only from the missing ack, and sends it again (with the same id).
    const dropRate = this.ctx.faults().dropRate ?? 0;
    if (dropRate > 0 && this.ctx.random() < dropRate) {
      this.ctx.counters.recordDrop(id);
      return;
    }
    // The server takes responsibility for the message (SERVER_ACK).
    connection.send({ tag: 'ack', attrs: { class: 'message', id, from: node.attrs.to ?? SERVER_JID, t: unixNow() } });
    this.ctx.counters.acceptedMessages++;
    this.ctx.counters.relayedMessages++;
    this.remember(sender, id, node.attrs.to);
    const deviceIdentity = child(node, 'device-identity');
    for (const { jid, encs } of targetsOf(node)) {
      const target = decodeJid(jid);
      const account = target ? this.ctx.registry.resolve(target.user, target.server) : undefined;
      if (!target || !account || account.isPhantom(target.device)) continue; // nobody runs that device
      if (account === sender && target.device === connection.deviceId) continue;
      this.deliver(account.device(target.device), {
        tag: 'message',
        attrs: {
          from: `${sender.lid}${connection.deviceId ? `:${connection.deviceId}` : ''}@lid`,
          sender_pn: sender.pnJid,
          addressing_mode: 'lid',
          id,
          t: unixNow(),
          type: node.attrs.type ?? 'text',
          ...(sender.pushName ? { notify: sender.pushName } : {}),
          // A copy for another device of the sender's own account says which chat it belongs to.
          ...(account === sender && node.attrs.to ? { recipient: node.attrs.to } : {}),
        },
        content: [...encs, ...(deviceIdentity ? [deviceIdentity] : [])],
      });
      if (account !== sender) this.ctx.wakeContact(account);
    }
  }

  private receipt(connection: SandboxConnection, sender: Account, node: BinaryNode): void {
    const { id = '', to, type } = node.attrs;
    connection.send({ tag: 'ack', attrs: { class: 'receipt', id, from: to ?? SERVER_JID, ...(type ? { type } : {}) } });
    // Whatever its type (delivery, read, retry...), the device confirmed it has these messages.
    sender.devices.get(connection.deviceId)?.receipted([id, ...listedIds(node)]);
    if (type === 'server-error') return this.mediaRetry(connection, node);
    const target = decodeJid(to);
    const account = target ? this.ctx.registry.resolve(target.user, target.server) : undefined;
    if (!account) return;
    this.ctx.counters.relayedReceipts++;
    if (type === 'read') this.ctx.readReceipt(sender, account, [id, ...listedIds(node)]);
    const addressing = this.addressing.get(`${account.phone}/${id}`) ?? 'lid';
    const stanza: BinaryNode = {
      tag: 'receipt',
      attrs: {
        from: addressing === 'pn' ? sender.pnJid : sender.lidJid,
        id,
        t: node.attrs.t ?? unixNow(),
        ...(type ? { type } : {}),
        ...(node.attrs.participant ? { participant: node.attrs.participant } : {}),
        ...(node.attrs.recipient ? { recipient: node.attrs.recipient } : {}),
      },
      ...(Array.isArray(node.content) ? { content: node.content } : {}),
    };
    for (const device of account.devices.values()) {
      if (!device.keys || (account === sender && device.id === connection.deviceId)) continue;
      this.deliver(device, stanza);
    }
  }

  /**
   * A client could not download media (gone from the media server) and asks
   * the sender's phone to upload it again (Baileys' updateMediaMessage). No
   * fake phone re-uploads, so the server answers at once that the media is
   * not found, as WhatsApp does when the phone cannot: Baileys then fails
   * with 404 instead of waiting forever for a `mediaretry` notification.
   */
  private mediaRetry(connection: SandboxConnection, node: BinaryNode): void {
    const rmr = child(node, 'rmr');
    if (!rmr) return;
    connection.send({
      tag: 'notification',
      attrs: { from: SERVER_JID, type: 'mediaretry', id: node.attrs.id ?? '', t: unixNow() },
      content: [
        { tag: 'rmr', attrs: { ...rmr.attrs } },
        { tag: 'error', attrs: { code: String(proto.MediaRetryNotification.ResultType.NOT_FOUND) } },
      ],
    });
  }

  /** Sends now, or keeps it for the device's next login (marked offline, as WhatsApp does). */
  private deliver(device: Device, stanza: BinaryNode): void {
    if (device.connection?.isOpen) {
      device.connection.send(stanza);
      device.delivered(device.connection, stanza);
      return;
    }
    device.queueOffline({ ...stanza, attrs: { ...stanza.attrs, offline: '1' } });
    this.ctx.counters.queuedOffline++;
  }

  private remember(sender: Account, id: string, to: string | undefined): void {
    this.addressing.set(`${sender.phone}/${id}`, decodeJid(to)?.server === 'lid' ? 'lid' : 'pn');
    if (this.addressing.size > MAX_REMEMBERED_ADDRESSING) this.addressing.delete(this.addressing.keys().next().value as string);
  }
}

/** Who a `<message>` is for: `<participants><to jid><enc/></to>...` or, for a retry, `<enc>` addressed by `to`. */
function targetsOf(node: BinaryNode): Array<{ jid: string; encs: BinaryNode[] }> {
  const participants = child(node, 'participants');
  if (participants) {
    return childrenByTag(participants, 'to')
      .map((to) => ({ jid: to.attrs.jid ?? '', encs: childrenByTag(to, 'enc') }))
      .filter((t) => t.encs.length);
  }
  const encs = childrenByTag(node, 'enc');
  return encs.length && node.attrs.to ? [{ jid: node.attrs.to, encs }] : [];
}

function devicesNode(ids: number[]): BinaryNode {
  return {
    tag: 'devices',
    attrs: {},
    content: [
      {
        tag: 'device-list',
        attrs: {},
        // Baileys ignores companions (id > 0) without a key index.
        content: ids.map((id) => ({ tag: 'device', attrs: { id: String(id), ...(id ? { 'key-index': String(id) } : {}) } })),
      },
    ],
  };
}

/** Everyone sees everything and read receipts are on, so a contact's `readMessages` sends `read`. */
function privacySettings(): BinaryNode {
  const categories: Array<[string, string]> = [
    ['readreceipts', 'all'],
    ['last', 'all'],
    ['online', 'all'],
    ['profile', 'all'],
    ['status', 'all'],
    ['groupadd', 'all'],
    ['calladd', 'all'],
  ];
  return { tag: 'privacy', attrs: {}, content: categories.map(([name, value]) => ({ tag: 'category', attrs: { name, value } })) };
}

/** The further ids of a receipt for several messages: `<list><item id=.../></list>`. */
function listedIds(node: BinaryNode): string[] {
  const list = children(node).find((c) => c.tag === 'list');
  return list ? children(list).flatMap((item) => (item.tag === 'item' && item.attrs.id ? [item.attrs.id] : [])) : [];
}
