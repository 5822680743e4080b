import type { Readable } from 'node:stream';

/** What a stored file turned out to be. */
export interface StoredFile {
  size: number;
  /** Hex sha256 of the bytes. */
  sha256: string;
}

/** A stored file, as listed. */
export interface StoredFileEntry {
  key: string;
  modifiedAt: Date;
}

/** A stored file, opened for reading. */
export interface StoredFileReader {
  stream: Readable;
  size: number;
}

/**
 * Where received media files go. The local-disk implementation
 * (LocalDiskMediaStorage, MEDIA_DIR) is the default; an S3-compatible store
 * can implement the same four calls. Keys are relative paths of letters,
 * digits, `.`, `_` and `-` segments joined by `/` (no `..`).
 */
export interface MediaStorage {
  /**
   * Streams `source` into the file `key`, at most `maxBytes` (beyond that:
   * MediaTooLargeError and nothing is kept), replacing what was there. The
   * file appears whole or not at all. The source is consumed or destroyed.
   */
  write(key: string, source: Readable, maxBytes: number): Promise<StoredFile>;
  /** The file, or null when there is none. */
  open(key: string): Promise<StoredFileReader | null>;
  /** Removes the file (nothing when there is none). */
  delete(key: string): Promise<void>;
  /** Every file whose key starts with `prefix/` (files still being written included), in no particular order. */
  list(prefix: string): AsyncIterable<StoredFileEntry>;
}

/** Injection token of the MediaStorage. */
export const MEDIA_STORAGE = Symbol('MEDIA_STORAGE');

/** A file is larger than allowed (MEDIA_MAX_BYTES): retrying cannot help. */
export class MediaTooLargeError extends Error {
  override readonly name = 'MediaTooLargeError';
  constructor(readonly maxBytes: number) {
    super(`the file is larger than MEDIA_MAX_BYTES (${maxBytes} bytes)`);
  }
}

const KEY = /^[A-Za-z0-9_-][A-Za-z0-9._-]*(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/;

/** Throws on a key that is not a safe relative path (see MediaStorage). */
export function assertStorageKey(key: string): void {
  if (key.length > 512 || !KEY.test(key) || key.split('/').some((part) => part === '.' || part === '..')) {
    throw new Error(`invalid media storage key "${key}"`);
  }
}

/** Where received files go (the sweeper lists it). */
export const INBOUND_MEDIA_PREFIX = 'inbound';

/** The key of a received message's file: one directory per session. */
export function inboundMediaKey(sessionId: string, messageId: string): string {
  return `${INBOUND_MEDIA_PREFIX}/${sessionId}/${messageId}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The message id a received file's key names (a temporary `.part` file's too), or null. */
export function messageIdOfKey(key: string): string | null {
  const name = key.split('/').pop() ?? '';
  const id = name.split('.')[0] ?? '';
  return UUID.test(id) ? id.toLowerCase() : null;
}
