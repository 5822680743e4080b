import { ContactDirectory, type ContactDirectoryOptions, type DirectoryContact } from './contact-directory';
import type { ContactState } from './contact-state';
import type { ContactMessage } from './sandbox-network.types';

/**
 * The directory's bounds and eviction. The contacts are stand-ins (a real one
 * is a Baileys socket, covered by test/integration/sandbox): what is checked
 * here is which contacts the directory keeps, closes, reconnects and forgets.
 */
class StubContact implements DirectoryContact {
  isOpen = true;
  closes = 0;
  closeError: Error | null = null;

  constructor(
    readonly phone: string,
    readonly state: ContactState,
    private readonly onClosed: (contact: StubContact) => void,
  ) {}

  async close(): Promise<void> {
    this.closes++;
    this.isOpen = false;
    if (this.closeError) throw this.closeError;
  }

  /** The socket drops by itself (a fault), as FakeContact reports it. */
  drop(): void {
    this.isOpen = false;
    this.onClosed(this);
  }
}

function message(text: string): ContactMessage {
  return { from: '5511900000000', text, type: 'text', waMessageId: `ID-${text}`, receivedAt: new Date(0).toISOString(), copies: 1 };
}

function setup(options: Partial<ContactDirectoryOptions> = {}) {
  const created: StubContact[] = [];
  const forgotten: string[] = [];
  const failures: Array<{ what: string; error: unknown }> = [];
  const directory = new ContactDirectory<StubContact>(
    async (phone, state, onClosed) => {
      const contact = new StubContact(phone, state, onClosed);
      created.push(contact);
      return contact;
    },
    {
      onForgotten: (phone) => forgotten.push(phone),
      onBackgroundError: (what, error) => failures.push({ what, error }),
      ...options,
    },
  );
  return { directory, created, forgotten, failures };
}

describe('ContactDirectory', () => {
  it('keeps at most maxLiveContacts connected and closes the least recently used one', async () => {
    const { directory, created } = setup({ maxLiveContacts: 3 });
    const [a, b] = [await directory.ensure('a'), await directory.ensure('b'), await directory.ensure('c')];
    expect(await directory.ensure('a')).toBe(a); // a is now more recent than b
    await directory.ensure('d');

    expect(directory.size).toBe(3);
    expect(directory.evictions).toBe(1);
    expect(b.closes).toBe(1);
    expect(created.filter((c) => c.closes > 0)).toEqual([b]);
    expect(['a', 'b', 'c', 'd'].map((p) => directory.isLive(p))).toEqual([true, false, true, true]);
  });

  it('counts a touch as a use, so the touched contact is not the one evicted', async () => {
    const { directory } = setup({ maxLiveContacts: 2 });
    const a = await directory.ensure('a');
    const b = await directory.ensure('b');
    directory.touch('a');
    await directory.ensure('c');
    expect([a.closes, b.closes]).toEqual([0, 1]);
  });

  it('keeps the inbox and keys of an evicted contact, and reconnects it with the same state', async () => {
    const { directory, created, forgotten } = setup({ maxLiveContacts: 1 });
    const first = await directory.ensure('a');
    first.state.record(message('before'));
    await directory.ensure('b'); // evicts a
    expect(first.closes).toBe(1);
    expect(directory.messages('a').map((m) => m.text)).toEqual(['before']);

    const again = await directory.ensure('a');
    expect(again).not.toBe(first);
    expect(again.state).toBe(first.state);
    expect(created).toHaveLength(3);
    expect(forgotten).toEqual([]);
  });

  it('forgets the least recently used phone beyond maxKnownContacts: inbox gone, a new contact gets a new state', async () => {
    const { directory, forgotten } = setup({ maxLiveContacts: 2, maxKnownContacts: 3 });
    const a = await directory.ensure('a');
    a.state.record(message('for a'));
    for (const phone of ['b', 'c', 'd']) await directory.ensure(phone);

    expect(directory.knownCount).toBe(3);
    expect(forgotten).toEqual(['a']);
    expect(directory.messages('a')).toEqual([]);
    expect((await directory.ensure('a')).state).not.toBe(a.state);
    expect(forgotten).toEqual(['a', 'b']);
  });

  it('never keeps fewer states than live contacts', async () => {
    const { directory, forgotten } = setup({ maxLiveContacts: 3, maxKnownContacts: 1 });
    for (const phone of ['a', 'b', 'c']) await directory.ensure(phone);
    expect(directory.size).toBe(3);
    expect(directory.knownCount).toBe(3);
    expect(forgotten).toEqual([]);
  });

  it('keeps the last maxMessagesPerContact messages of an inbox', async () => {
    const { directory } = setup({ maxMessagesPerContact: 3 });
    const a = await directory.ensure('a');
    for (const text of ['1', '2', '3', '4', '5']) a.state.record(message(text));
    expect(directory.messages('a').map((m) => m.text)).toEqual(['3', '4', '5']);
  });

  it('does not count reading an inbox as a use', async () => {
    const { directory, forgotten } = setup({ maxLiveContacts: 1, maxKnownContacts: 2 });
    await directory.ensure('a');
    await directory.ensure('b');
    directory.messages('a');
    await directory.ensure('c');
    expect(forgotten).toEqual(['a']);
  });

  it('starts one contact for concurrent callers', async () => {
    const { directory, created } = setup();
    const [x, y] = await Promise.all([directory.ensure('a'), directory.ensure('a')]);
    expect(x).toBe(y);
    expect(created).toHaveLength(1);
  });

  it('replaces a contact whose socket dropped by itself, with the same state', async () => {
    const { directory, created } = setup();
    const first = await directory.ensure('a');
    first.drop();
    expect(directory.isLive('a')).toBe(false);
    const second = await directory.ensure('a');
    expect(second).not.toBe(first);
    expect(second.state).toBe(first.state);
    expect(created).toHaveLength(2);
    expect(first.closes).toBe(0); // it closed itself; the directory did not close it again
  });

  it('puts back the state of a contact that was pushed out while it connected', async () => {
    const releases = new Map<string, () => void>();
    const states = new Map<string, ContactState>();
    const forgotten: string[] = [];
    const directory = new ContactDirectory<StubContact>(
      (phone, state, onClosed) => {
        states.set(phone, state);
        return new Promise<StubContact>((resolve) => releases.set(phone, () => resolve(new StubContact(phone, state, onClosed))));
      },
      { maxLiveContacts: 2, maxKnownContacts: 2, onForgotten: (phone) => forgotten.push(phone), onBackgroundError: () => undefined },
    );
    const a = directory.ensure('a');
    states.get('a')!.record(message('kept'));
    const b = directory.ensure('b');
    const c = directory.ensure('c'); // pushes a's state out while a is still connecting: not forgotten
    expect(forgotten).toEqual([]);
    releases.get('a')!();
    expect((await a).state).toBe(states.get('a'));
    expect(directory.messages('a').map((m) => m.text)).toEqual(['kept']);

    releases.get('b')!();
    releases.get('c')!();
    await Promise.all([b, c]);
    // Settled within both bounds, and only phones without a live contact were forgotten.
    expect(directory.size).toBeLessThanOrEqual(2);
    expect(directory.knownCount).toBe(2);
    for (const phone of forgotten) expect(directory.isLive(phone)).toBe(false);
  });

  it('reports a failed close of an evicted contact instead of leaving it unhandled, and closeAll waits for it', async () => {
    const { directory, failures } = setup({ maxLiveContacts: 1 });
    const a = await directory.ensure('a');
    a.closeError = new Error('socket stuck');
    await directory.ensure('b');
    await directory.closeAll();
    expect(failures).toEqual([{ what: 'closing the evicted contact a', error: a.closeError }]);
  });

  it('closeAll closes every live contact, waits for those still connecting and refuses new ones', async () => {
    const { directory, created } = setup();
    await directory.ensure('a');
    const connecting = directory.ensure('b');
    await directory.closeAll();
    await connecting;
    expect(created.map((c) => [c.phone, c.closes])).toEqual([
      ['a', 1],
      ['b', 1],
    ]);
    expect(directory.size).toBe(0);
    await expect(directory.ensure('c')).rejects.toThrow(/closing/);
  });

  it('rejects bounds that are not positive integers', () => {
    expect(() => setup({ maxLiveContacts: 0 })).toThrow(RangeError);
    expect(() => setup({ maxKnownContacts: 1.5 })).toThrow(RangeError);
    expect(() => setup({ maxMessagesPerContact: -1 })).toThrow(RangeError);
  });
});
