import type { ComponentChildren } from 'preact';

/** A status with a colour and its text (colour is never the only cue). */
export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge badge-${status.toLowerCase().replace(/_/g, '-')}`}>{status}</span>;
}

export function Notice({ error, children }: { error?: string | null; children?: ComponentChildren }) {
  if (error)
    return (
      <p role="alert" class="error">
        {error}
      </p>
    );
  return children ? <p class="notice" role="status">{children}</p> : null;
}

export function formatTime(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : '—';
}
