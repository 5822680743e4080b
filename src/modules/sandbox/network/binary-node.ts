import { jidDecode, type BinaryNode } from '@whiskeysockets/baileys';

/**
 * Small helpers over WhatsApp binary nodes (`{tag, attrs, content}`), so the
 * stanza handlers read like the protocol they implement.
 */
export const SERVER_JID = 's.whatsapp.net';

export function children(node: BinaryNode | undefined): BinaryNode[] {
  return Array.isArray(node?.content) ? node.content : [];
}

export function child(node: BinaryNode | undefined, tag: string): BinaryNode | undefined {
  return children(node).find((c) => c.tag === tag);
}

export function childrenByTag(node: BinaryNode | undefined, tag: string): BinaryNode[] {
  return children(node).filter((c) => c.tag === tag);
}

/** Content as bytes (binary nodes carry strings or bytes). */
export function contentBytes(node: BinaryNode | undefined): Buffer | undefined {
  if (!node || node.content === undefined || Array.isArray(node.content)) return undefined;
  return typeof node.content === 'string' ? Buffer.from(node.content, 'utf8') : Buffer.from(node.content);
}

/** The `<iq type="result">` answering `request`, optionally with children. */
export function iqResult(request: BinaryNode, content?: BinaryNode[]): BinaryNode {
  return {
    tag: 'iq',
    attrs: { from: SERVER_JID, type: 'result', id: request.attrs.id ?? '' },
    ...(content ? { content } : {}),
  };
}

/** The `<iq type="error">` answering `request`. */
export function iqError(request: BinaryNode, code: number, text: string): BinaryNode {
  return {
    tag: 'iq',
    attrs: { from: SERVER_JID, type: 'error', id: request.attrs.id ?? '' },
    content: [{ tag: 'error', attrs: { code: String(code), text } }],
  };
}

export function unixNow(): string {
  return String(Math.floor(Date.now() / 1000));
}

export interface DecodedJid {
  user: string;
  device: number;
  server: string;
}

/** Decodes `user[:device]@server`; null when it is not a user JID. */
export function decodeJid(jid: string | undefined): DecodedJid | null {
  if (!jid) return null;
  const decoded = jidDecode(jid);
  if (!decoded?.user) return null;
  return { user: decoded.user, device: decoded.device ?? 0, server: decoded.server };
}
