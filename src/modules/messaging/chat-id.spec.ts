import { toChatId } from './chat-id';

describe('toChatId', () => {
  it.each([
    ['5511999998888', '5511999998888@s.whatsapp.net'],
    ['+55 11 99999-8888', '5511999998888@s.whatsapp.net'],
    ['+1 (555) 000-1111', '15550001111@s.whatsapp.net'],
    ['5511999998888@s.whatsapp.net', '5511999998888@s.whatsapp.net'],
    ['120363025246125486@g.us', '120363025246125486@g.us'],
    ['5511999998888-1612345678@g.us', '5511999998888-1612345678@g.us'],
    ['123456789012345@lid', '123456789012345@lid'],
    ['  5511999998888@S.WHATSAPP.NET ', '5511999998888@s.whatsapp.net'],
  ])('%s → %s', (input, jid) => {
    expect(toChatId(input)).toBe(jid);
  });

  it.each<unknown>(['', '12', 'abc', '5511999998888:12@s.whatsapp.net', 'x@g.us', '5511@s.whatsapp.net', 'status@broadcast', '5511999998888@c.us', 42, null])(
    'refuses %p',
    (input) => {
      expect(toChatId(input)).toBeNull();
    },
  );
});
