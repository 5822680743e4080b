/**
 * WhatsApp Web transport framing, server side.
 *
 * Every frame is a 3-byte big-endian length followed by the payload. The very
 * first bytes a client sends are an intro: optionally an "ED" edge-routing
 * block (`E D 0 1 <len:3> <routing info>`), then the 4-byte `W A <version>
 * <dict version>` header, which the Noise handshake authenticates. A frame or
 * the intro may be split across WebSocket messages, or several may arrive in
 * one, so the decoder buffers.
 */

/** Largest payload a 3-byte length can carry. */
export const MAX_FRAME_BYTES = 0xff_ff_ff;
const WA_HEADER_BYTES = 4;

export class FrameError extends Error {}

/** Prefixes `payload` with its 3-byte big-endian length. */
export function encodeFrame(payload: Uint8Array): Buffer {
  if (payload.length > MAX_FRAME_BYTES) throw new FrameError(`frame of ${payload.length} bytes exceeds ${MAX_FRAME_BYTES}`);
  const frame = Buffer.allocUnsafe(3 + payload.length);
  frame.writeUIntBE(payload.length, 0, 3);
  frame.set(payload, 3);
  return frame;
}

/** Incremental decoder of one client connection's byte stream. */
export class FrameDecoder {
  private buffer: Buffer = Buffer.alloc(0);
  private introHeader: Buffer | null = null;

  /** The client's `W A x y` header, once received (null before). */
  get header(): Buffer | null {
    return this.introHeader;
  }

  /**
   * Appends a chunk and returns every complete frame payload it finished.
   * Throws FrameError when the intro is not a WhatsApp Web intro.
   */
  push(chunk: Uint8Array): Buffer[] {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : Buffer.from(chunk);
    if (!this.introHeader && !this.readIntro()) return [];
    const frames: Buffer[] = [];
    while (this.buffer.length >= 3) {
      const length = this.buffer.readUIntBE(0, 3);
      if (this.buffer.length < 3 + length) break;
      // Copy: the payload outlives this buffer, which is re-sliced below.
      frames.push(Buffer.from(this.buffer.subarray(3, 3 + length)));
      this.buffer = this.buffer.subarray(3 + length);
    }
    return frames;
  }

  /** Consumes the intro when complete; false while more bytes are needed. */
  private readIntro(): boolean {
    let offset = 0;
    if (this.buffer.length >= 2 && this.buffer[0] === 0x45 && this.buffer[1] === 0x44) {
      // "ED" 0 1 <3-byte length> <routing info>: sent by clients that got edge routing info.
      if (this.buffer.length < 7) return false;
      offset = 7 + this.buffer.readUIntBE(4, 3);
    }
    if (this.buffer.length < offset + WA_HEADER_BYTES) {
      if (this.buffer.length >= 2 && offset === 0) this.assertWa(this.buffer);
      return false;
    }
    const header = this.buffer.subarray(offset, offset + WA_HEADER_BYTES);
    this.assertWa(header);
    this.introHeader = Buffer.from(header);
    this.buffer = this.buffer.subarray(offset + WA_HEADER_BYTES);
    return true;
  }

  private assertWa(bytes: Buffer): void {
    if (bytes[0] !== 0x57 || bytes[1] !== 0x41) throw new FrameError('connection does not start with the WhatsApp Web intro header');
  }
}
