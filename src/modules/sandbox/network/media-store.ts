/** One uploaded (encrypted) media file. */
export interface StoredMedia {
  bytes: Buffer;
  /** The upload path it came in on (`/mms/image`, ...), for logs. */
  kind: string;
  storedAt: number;
}

/**
 * The media files of the sandbox, in memory, bounded by their total size: a
 * file that does not fit pushes out the oldest ones (like media expiring on
 * WhatsApp's servers, just sooner). A test server: nothing is persisted.
 */
export class MediaStore {
  private readonly files = new Map<string, StoredMedia>();
  private total = 0;
  private evictedCount = 0;

  constructor(
    /** Bytes kept at most, all files together. */
    readonly maxBytes: number,
  ) {
    if (!Number.isInteger(maxBytes) || maxBytes < 1) throw new RangeError(`maxBytes must be a positive integer (got ${maxBytes})`);
  }

  /** Keeps `bytes` under `id`, evicting the oldest files until it fits. Throws RangeError when it alone is larger than maxBytes. */
  put(id: string, bytes: Buffer, kind: string, now = Date.now()): void {
    if (bytes.length > this.maxBytes) throw new RangeError(`a file of ${bytes.length} bytes exceeds the media store's ${this.maxBytes} bytes`);
    this.delete(id);
    // A Map iterates in insertion order: the first entry is the oldest.
    for (const [oldest, file] of this.files) {
      if (this.total + bytes.length <= this.maxBytes) break;
      this.files.delete(oldest);
      this.total -= file.bytes.length;
      this.evictedCount++;
    }
    this.files.set(id, { bytes, kind, storedAt: now });
    this.total += bytes.length;
  }

  get(id: string): StoredMedia | undefined {
    return this.files.get(id);
  }

  delete(id: string): void {
    const file = this.files.get(id);
    if (!file) return;
    this.files.delete(id);
    this.total -= file.bytes.length;
  }

  clear(): void {
    this.files.clear();
    this.total = 0;
  }

  get count(): number {
    return this.files.size;
  }

  get bytes(): number {
    return this.total;
  }

  /** Files pushed out to make room since the start. */
  get evicted(): number {
    return this.evictedCount;
  }
}
