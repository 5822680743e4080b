import { encodeFrame, FrameDecoder, FrameError, MAX_FRAME_BYTES } from './frame-codec';

const INTRO = Buffer.from([0x57, 0x41, 6, 3]);

describe('frame codec', () => {
  it('prefixes a payload with its 3-byte big-endian length', () => {
    expect([...encodeFrame(Buffer.from([1, 2, 3]))]).toEqual([0, 0, 3, 1, 2, 3]);
    expect(encodeFrame(Buffer.alloc(0x012345)).subarray(0, 3)).toEqual(Buffer.from([0x01, 0x23, 0x45]));
  });

  it('refuses payloads a 3-byte length cannot describe', () => {
    expect(() => encodeFrame(new Uint8Array(MAX_FRAME_BYTES + 1))).toThrow(FrameError);
  });

  it('strips the intro header, then returns frames split or batched in any way', () => {
    const decoder = new FrameDecoder();
    const stream = Buffer.concat([INTRO, encodeFrame(Buffer.from('hello')), encodeFrame(Buffer.from('world!'))]);
    const frames: string[] = [];
    // One byte at a time: the worst split.
    for (const byte of stream) frames.push(...decoder.push(Buffer.from([byte])).map((f) => f.toString()));
    expect(frames).toEqual(['hello', 'world!']);
    expect(decoder.header).toEqual(INTRO);
  });

  it('handles several frames in one chunk and keeps a partial one', () => {
    const decoder = new FrameDecoder();
    const a = encodeFrame(Buffer.from('a'));
    const b = encodeFrame(Buffer.from('bbb'));
    expect(decoder.push(Buffer.concat([INTRO, a, b.subarray(0, 4)])).map(String)).toEqual(['a']);
    expect(decoder.push(b.subarray(4)).map(String)).toEqual(['bbb']);
  });

  it('accepts the edge-routing prefix before the WA header', () => {
    const routing = Buffer.from([9, 9, 9]);
    const ed = Buffer.concat([Buffer.from('ED'), Buffer.from([0, 1, 0, 0, routing.length]), routing, INTRO]);
    const decoder = new FrameDecoder();
    expect(decoder.push(Buffer.concat([ed, encodeFrame(Buffer.from('x'))])).map(String)).toEqual(['x']);
    expect(decoder.header).toEqual(INTRO);
  });

  it('rejects a stream that is not WhatsApp Web', () => {
    expect(() => new FrameDecoder().push(Buffer.from('GET / HTTP/1.1\r\n'))).toThrow(FrameError);
  });

  it('copies frames so later chunks cannot change them', () => {
    const decoder = new FrameDecoder();
    const chunk = Buffer.concat([INTRO, encodeFrame(Buffer.from('keep'))]);
    const [frame] = decoder.push(chunk);
    chunk.fill(0);
    expect(frame!.toString()).toBe('keep');
  });
});
