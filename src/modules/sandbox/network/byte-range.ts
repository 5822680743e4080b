/** The bytes `start`..`end` (inclusive) of a resource. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Reads a `Range` header against a resource of `size` bytes (RFC 9110 14.1):
 * `bytes=a-b`, `bytes=a-` and the suffix form `bytes=-n`, with `b` clamped to
 * the last byte. Null when there is none, or it is malformed or asks for
 * several ranges (the whole resource is then served, as the RFC allows);
 * 'unsatisfiable' when it starts past the end (416).
 */
export function parseByteRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | null {
  if (!header) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return null;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return null;
  if (first === '') {
    // The last n bytes.
    const length = Number(last);
    if (length === 0) return 'unsatisfiable';
    return size === 0 ? 'unsatisfiable' : { start: Math.max(0, size - length), end: size - 1 };
  }
  const start = Number(first);
  if (last !== '' && Number(last) < start) return null;
  if (start >= size) return 'unsatisfiable';
  return { start, end: last === '' ? size - 1 : Math.min(Number(last), size - 1) };
}
