import { randomBytes } from 'node:crypto';
import { formatPairingQr, parsePairingQr, type PairingQr } from './pairing-qr';

/**
 * Handles WhatsApp's `<notification type="companion_reg_refresh">` for an
 * unpaired companion (Baileys issue #2737; fix proposed in Baileys PR #2765,
 * not released in rc14, which acks and drops the notification).
 *
 * Since 2026-07-28 WhatsApp sends it after the QR is shown to retire the adv
 * secret the QR advertises. A QR still carrying the old secret is rejected by
 * the phone ("couldn't link") and pairing never completes. WhatsApp Web (and
 * whatsapp-rust, zapo) answer by generating a new 32-byte adv secret,
 * persisting it and re-rendering the QR from the CURRENT ref with the new
 * secret (the ref is not advanced). Baileys captured the secret when the
 * pair-device refs arrived, so QRs it emits later still embed the retired
 * secret: they are rewritten here too.
 *
 * During a pairing-code flow the adv secret is derived from the code exchange
 * (Baileys overwrites `creds.advSecretKey` on `link_code_companion_reg`), so a
 * rotation then would break `pair-success`: the rotation is deferred until the
 * flow ends without pairing (timeout or failure), as whatsapp-rust does.
 */
export interface CompanionRegRefreshDeps {
  /** The live creds object Baileys verifies `pair-success` against. */
  creds: { advSecretKey: string };
  /** Schedules a save of the creds (the rotated secret must survive a restart). */
  persistCreds: () => void;
  /** Emits a re-rendered QR to the session (same ref, same expiry). */
  emitQr: (qr: string) => void;
  /** How long a requested pairing code holds rotations back. */
  pairingCodeFlowMs: number;
  onRotated?: () => void;
  newSecret?: () => string;
}

/** Retired secrets remembered for rewriting; WhatsApp sends a handful per pairing at most. */
const MAX_RETIRED = 16;

export class CompanionRegRefresh {
  private currentQr: PairingQr | null = null;
  private readonly retired = new Set<string>();
  private pairingCodeFlow: NodeJS.Timeout | null = null;
  private pending = false;
  private paired = false;

  constructor(private readonly deps: CompanionRegRefreshDeps) {}

  /** Number of rotations applied (for logs and tests). */
  rotations = 0;

  /**
   * Called with every QR Baileys emits. Returns the QR to show: the same one,
   * or the same ref with the current secret if Baileys embedded a retired one.
   */
  rewriteQr(qr: string): string {
    const parsed = parsePairingQr(qr);
    if (!parsed) return qr;
    const current = this.deps.creds.advSecretKey;
    const fixed = this.retired.has(parsed.advSecretB64) && current ? { ...parsed, advSecretB64: current } : parsed;
    this.currentQr = fixed;
    return fixed === parsed ? qr : formatPairingQr(fixed);
  }

  /** The notification arrived: rotate now, or after a running pairing-code flow. */
  onRefreshNotification(): 'rotated' | 'deferred' | 'ignored' {
    if (this.paired) return 'ignored';
    if (this.pairingCodeFlow) {
      this.pending = true;
      return 'deferred';
    }
    this.rotate();
    return 'rotated';
  }

  beginPairingCodeFlow(): void {
    if (this.pairingCodeFlow) clearTimeout(this.pairingCodeFlow);
    this.pairingCodeFlow = setTimeout(() => this.endPairingCodeFlow(false), this.deps.pairingCodeFlowMs);
    this.pairingCodeFlow.unref?.();
  }

  /** A pairing-code flow ended; without pairing, a deferred rotation is applied now. */
  endPairingCodeFlow(paired: boolean): void {
    if (this.pairingCodeFlow) clearTimeout(this.pairingCodeFlow);
    this.pairingCodeFlow = null;
    if (paired) {
      this.markPaired();
      return;
    }
    if (this.pending) {
      this.pending = false;
      this.rotate();
    }
  }

  /** pair-success arrived: the device is linked, later refreshes are moot. */
  markPaired(): void {
    this.paired = true;
    this.pending = false;
  }

  dispose(): void {
    if (this.pairingCodeFlow) clearTimeout(this.pairingCodeFlow);
    this.pairingCodeFlow = null;
    this.currentQr = null;
    this.retired.clear();
  }

  private rotate(): void {
    const old = this.deps.creds.advSecretKey;
    const next = this.deps.newSecret?.() ?? randomBytes(32).toString('base64');
    if (old) {
      this.retired.add(old);
      if (this.retired.size > MAX_RETIRED) this.retired.delete(this.retired.values().next().value as string);
    }
    this.deps.creds.advSecretKey = next;
    this.rotations++;
    this.deps.persistCreds();
    this.deps.onRotated?.();
    if (this.currentQr) {
      this.currentQr = { ...this.currentQr, advSecretB64: next };
      this.deps.emitQr(formatPairingQr(this.currentQr));
    }
  }
}
