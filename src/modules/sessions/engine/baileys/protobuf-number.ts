/**
 * A protobuf uint64 (a timestamp, a file length) as a number: Baileys hands
 * them over as a number, a Long, or (after a JSON round trip) a string. Null
 * when absent or not a non-negative number.
 */
export function uint64ToNumber(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : null;
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  if (value && typeof value === 'object') {
    const long = value as { toNumber?: () => number; low?: number; high?: number };
    if (typeof long.toNumber === 'function') return long.toNumber();
    if (typeof long.low === 'number') return (long.high ?? 0) * 2 ** 32 + (long.low >>> 0);
  }
  return null;
}
