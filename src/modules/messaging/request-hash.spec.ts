import { requestHash } from './request-hash';

describe('requestHash', () => {
  it('ignores key order and undefined fields, and sees every value', () => {
    const a = requestHash({ to: '1', type: 'text', text: 'hi', location: { latitude: 1, longitude: 2 } });
    expect(requestHash({ location: { longitude: 2, latitude: 1 }, text: 'hi', type: 'text', to: '1', ptt: undefined })).toBe(a);
    expect(requestHash({ to: '1', type: 'text', text: 'hi!', location: { latitude: 1, longitude: 2 } })).not.toBe(a);
    expect(requestHash({ to: '1', type: 'text', text: 'hi', location: { latitude: 1, longitude: 3 } })).not.toBe(a);
    expect(requestHash([1, 2])).not.toBe(requestHash([2, 1]));
  });
});
