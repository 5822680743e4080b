/**
 * This worker's session slots (MAX_SESSIONS). The FIFO of sessions waiting for
 * a slot lives in PostgreSQL (status QUEUED ordered by queuedAt) so it is
 * shared by every replica; this class only counts local occupancy.
 */
export class SessionPool {
  private readonly occupied = new Set<string>();

  constructor(readonly max: number) {}

  get active(): number {
    return this.occupied.size;
  }

  get free(): number {
    return Math.max(0, this.max - this.occupied.size);
  }

  has(sessionId: string): boolean {
    return this.occupied.has(sessionId);
  }

  /** Takes a slot; false when the pool is full. Idempotent for a session already in. */
  tryOccupy(sessionId: string): boolean {
    if (this.occupied.has(sessionId)) return true;
    if (this.occupied.size >= this.max) return false;
    this.occupied.add(sessionId);
    return true;
  }

  /** Takes a slot even when full: brief work (unlinking a device on logout) must not wait behind running sessions. */
  occupy(sessionId: string): void {
    this.occupied.add(sessionId);
  }

  release(sessionId: string): boolean {
    return this.occupied.delete(sessionId);
  }
}
