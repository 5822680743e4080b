import { AttemptCancelledError, BrokenCircuitError, SessionCircuit } from './session-circuit';

const fail = () => Promise.reject(new Error('refused'));
const succeed = () => Promise.resolve('ok');

describe('SessionCircuit', () => {
  it('opens after the threshold of consecutive failures and then refuses attempts', async () => {
    const circuit = new SessionCircuit(3, 60000);
    for (let i = 0; i < 3; i++) await expect(circuit.execute(fail)).rejects.toThrow('refused');
    expect(circuit.state).toBe('OPEN');
    expect(circuit.failures).toBe(3);
    await expect(circuit.execute(succeed)).rejects.toBeInstanceOf(BrokenCircuitError);
  });

  it('a success in between resets the count', async () => {
    const circuit = new SessionCircuit(3, 60000);
    await expect(circuit.execute(fail)).rejects.toThrow();
    await expect(circuit.execute(fail)).rejects.toThrow();
    await circuit.execute(succeed);
    expect(circuit.failures).toBe(0);
    await expect(circuit.execute(fail)).rejects.toThrow();
    expect(circuit.state).toBe('CLOSED');
  });

  it('lets one trial through after the reset time and closes on success', async () => {
    jest.useFakeTimers({ now: 1_000_000 });
    try {
      const circuit = new SessionCircuit(1, 5000);
      await expect(circuit.execute(fail)).rejects.toThrow();
      expect(circuit.state).toBe('OPEN');
      jest.setSystemTime(1_000_000 + 5001);
      await expect(circuit.execute(succeed)).resolves.toBe('ok');
      expect(circuit.state).toBe('CLOSED');
    } finally {
      jest.useRealTimers();
    }
  });

  it('reset closes an open breaker', async () => {
    const circuit = new SessionCircuit(1, 60000);
    await expect(circuit.execute(fail)).rejects.toThrow();
    circuit.reset();
    expect(circuit.state).toBe('CLOSED');
    expect(circuit.failures).toBe(0);
    await expect(circuit.execute(succeed)).resolves.toBe('ok');
  });
});

describe('SessionCircuit cancellations', () => {
  it('does not count a cancelled attempt as a failure', async () => {
    const circuit = new SessionCircuit(1, 60000);
    await expect(circuit.execute(() => Promise.reject(new AttemptCancelledError()))).rejects.toBeInstanceOf(AttemptCancelledError);
    expect(circuit.state).toBe('CLOSED');
    expect(circuit.failures).toBe(0);
  });
});
