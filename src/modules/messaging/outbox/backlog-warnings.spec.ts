import { BacklogWarnings } from './backlog-warnings';

describe('BacklogWarnings', () => {
  const setup = () => {
    const warned: string[] = [];
    const warnings = new BacklogWarnings(500, { warn: (m: string) => void warned.push(m), log: () => undefined });
    return { warned, warnings };
  };
  const a = (pending: number) => ({ sessionId: 'a', name: 'sales', pending });

  it('warns once when a session crosses the line, not on every check', () => {
    const { warned, warnings } = setup();
    warnings.update([a(501)]);
    warnings.update([a(800)]);
    warnings.update([a(900)]);
    expect(warned).toEqual([expect.stringMatching(/session sales has 501 messages waiting .*WARN_PENDING_PER_SESSION=500/)]);
  });

  it('warns again after the backlog went back under and crossed again', () => {
    const { warned, warnings } = setup();
    warnings.update([a(600)]);
    warnings.update([]);
    warnings.update([a(700)]);
    expect(warned).toHaveLength(2);
  });

  it('tracks sessions independently', () => {
    const { warned, warnings } = setup();
    warnings.update([a(600)]);
    warnings.update([a(600), { sessionId: 'b', name: 'support', pending: 510 }]);
    expect(warned.map((w) => w.split(' ')[1])).toEqual(['sales', 'support']);
  });
});
