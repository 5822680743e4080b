// Small helpers shared by the benchmarks (HTTP calls to the app, retries, bounded concurrency).
import http from 'node:http';

/** A JSON request on a fresh connection (no keep-alive reuse racing the app on the same event loop). */
export function requestJson(url, method, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(url, { method, agent: false, headers: { ...headers, ...(payload ? { 'content-type': 'application/json' } : {}) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode, body: text ? JSON.parse(text) : null });
        } catch (error) {
          reject(new Error(`${method} ${url}: ${res.statusCode} answered non-JSON: ${text.slice(0, 200)}`, { cause: error }));
        }
      });
      res.on('error', reject);
    });
    req.on('error', (error) => reject(new Error(`${method} ${url}: ${error.message}`, { cause: error })));
    req.end(payload);
  });
}

/** A few tries a second apart (cleanup while PostgreSQL restarts). */
export async function retry(action, tries = 10) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await action();
    } catch (error) {
      if (attempt >= tries) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

/** Runs `worker` over `items`, at most `size` at once. */
export async function pool(items, size, worker) {
  let next = 0;
  const run = async () => {
    while (next < items.length) await worker(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, run));
}
