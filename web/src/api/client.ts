import createClient from 'openapi-fetch';
import type { components, paths } from './schema';

/**
 * The typed client of the ZapHub API (types generated from /docs-json into
 * schema.d.ts): a changed route or shape breaks the page's type check at
 * build time. Requests carry the session cookie (same origin) and
 * X-Requested-With, which ZapHub requires of cookie requests that change state.
 */
export const api = createClient<paths>({
  baseUrl: '',
  credentials: 'same-origin',
  headers: { 'X-Requested-With': 'zaphub-dashboard' },
});

export type Session = components['schemas']['SessionView'];
export type Message = components['schemas']['MessageView'];
export type EventEnvelope = components['schemas']['EventView'];

/** The message of a ZapHub error body, or a generic one. */
export function errorText(error: unknown, response?: Response): string {
  const body = error as { message?: unknown } | undefined;
  if (body && typeof body.message === 'string') return body.message;
  return response ? `${response.status} ${response.statusText}` : 'Request failed';
}

/** Called when any request answers 401: the cookie expired or was revoked. */
let onUnauthorized: () => void = () => undefined;
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}
api.use({
  onResponse({ response }) {
    if (response.status === 401 && !response.url.endsWith('/api/auth/session')) onUnauthorized();
    return undefined;
  },
});
