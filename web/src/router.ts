import { useEffect, useState } from 'preact/hooks';

/** Hash routes (#/, #/sessions/<name>, #/overview): the server only serves /dashboard/ and its assets. */
export type Route = { page: 'sessions' } | { page: 'session'; name: string } | { page: 'overview' };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '');
  const session = /^\/sessions\/([A-Za-z0-9_-]{1,64})$/.exec(path);
  if (session) return { page: 'session', name: session[1]! };
  if (path === '/overview') return { page: 'overview' };
  return { page: 'sessions' };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const update = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return route;
}
