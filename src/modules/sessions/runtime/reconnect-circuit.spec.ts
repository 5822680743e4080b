import { ReconnectCircuit } from './reconnect-circuit';

describe('ReconnectCircuit', () => {
  it('opens after the threshold of consecutive failures and closes on success', () => {
    const circuit = new ReconnectCircuit(3);
    expect(circuit.recordFailure()).toBe(false);
    expect(circuit.recordFailure()).toBe(false);
    circuit.recordSuccess();
    expect(circuit.failures).toBe(0);
    expect([circuit.recordFailure(), circuit.recordFailure(), circuit.recordFailure()]).toEqual([false, false, true]);
    expect(circuit.state).toBe('OPEN');
  });

  it('continues from the state another worker stored: one failed trial re-opens it', () => {
    const circuit = new ReconnectCircuit(5, { state: 'OPEN', failures: 5 });
    circuit.beginTrial();
    expect(circuit.state).toBe('HALF_OPEN');
    expect(circuit.recordFailure()).toBe(true);
    expect(circuit.state).toBe('OPEN');
    circuit.beginTrial();
    circuit.recordSuccess();
    expect({ state: circuit.state, failures: circuit.failures }).toEqual({ state: 'CLOSED', failures: 0 });
  });

  it('does not start a trial from a closed circuit', () => {
    const circuit = new ReconnectCircuit(2, { state: 'CLOSED', failures: 1 });
    circuit.beginTrial();
    expect(circuit.state).toBe('CLOSED');
    expect(circuit.recordFailure()).toBe(true);
  });
});
