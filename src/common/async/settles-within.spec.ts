import { settlesWithin } from './settles-within';

describe('settlesWithin', () => {
  it('reports whether a promise settled in time', async () => {
    expect(await settlesWithin(Promise.resolve(), 50)).toBe(true);
    expect(await settlesWithin(new Promise(() => undefined), 10)).toBe(false);
  });
});
