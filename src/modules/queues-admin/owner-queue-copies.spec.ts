import { copyName, ownerOfMetaKey } from './owner-queue-copies';

describe('owner queue copies: reading the worker out of a meta key', () => {
  it('finds the worker of a copy under the deployment prefix', () => {
    expect(ownerOfMetaKey('zaphub-owner-worker-7-123:media-download:meta', 'zaphub', 'media-download')).toBe('worker-7-123');
  });

  it('ignores keys of other deployments, other queues, other key types and empty or nested ids', () => {
    expect(ownerOfMetaKey('other-owner-w1:media-download:meta', 'zaphub', 'media-download')).toBeNull();
    expect(ownerOfMetaKey('zaphub-owner-w1:message-send:meta', 'zaphub', 'media-download')).toBeNull();
    expect(ownerOfMetaKey('zaphub-owner-w1:media-download:id', 'zaphub', 'media-download')).toBeNull();
    expect(ownerOfMetaKey('zaphub-owner-:media-download:meta', 'zaphub', 'media-download')).toBeNull();
    // a queue key that merely ends like a meta key of another prefix (MATCH is a glob: '*' spans ':')
    expect(ownerOfMetaKey('zaphub-owner-w1:x:media-download:meta', 'zaphub', 'media-download')).toBeNull();
  });

  it('names a copy by its worker, so one worker\'s copies sort together', () => {
    expect(copyName('w1', 'media-download')).toBe('owner-w1.media-download');
  });
});
