/**
 * The runner registry with string connections and a hand-moved clock: hello admission and
 * replacement, heartbeats, the heartbeat timeout (for runners and for connections that never
 * said hello), and forgetting.
 */
import { describe, expect, it } from 'vitest';
import type { HelloMessage } from '@maskunet/contract';
import { RUNNER_CLOSE_CODES } from '@maskunet/contract';
import {
  RunnerRegistry,
  type RunnerConnections,
  type RunnerState,
} from '../../src/dispatcher/runner-registry';
import { ManualClock } from './memory-job-store';

/** Connections as the Durable Object has them: open ones listed, each with its attachment. */
class FakeConnections implements RunnerConnections<string> {
  readonly states = new Map<string, RunnerState | null>();
  list(): readonly string[] {
    return [...this.states.keys()];
  }
  read(connection: string): RunnerState | null {
    return this.states.get(connection) ?? null;
  }
  write(connection: string, state: RunnerState | null): void {
    this.states.set(connection, state);
  }
  /** The socket's close was delivered: it is no longer listed. */
  drop(connection: string): void {
    this.states.delete(connection);
  }
}

const TIMEOUT = 1500;

function setup() {
  const clock = new ManualClock();
  const connections = new FakeConnections();
  const registry = new RunnerRegistry(connections, { heartbeatTimeoutMs: TIMEOUT, clock: clock.read });
  return { clock, connections, registry };
}

function hello(runnerId: string, overrides: Partial<HelloMessage> = {}): HelloMessage {
  return {
    type: 'hello',
    runnerId,
    model: 'm',
    backend: 'cpu',
    capacity: 2,
    banks: [],
    protocol: 1,
    ...overrides,
  };
}

function connectReady(registry: RunnerRegistry<string>, connection: string, message: HelloMessage): void {
  registry.accept(connection, 'm');
  const admission = registry.admit(connection, message);
  if (!admission.ok) throw new Error(admission.reason);
  registry.register(connection, message);
}

describe('RunnerRegistry', () => {
  it('makes a connection a ready runner after an accepted hello', () => {
    const { registry, clock } = setup();
    registry.accept('ws1', 'm');
    expect(registry.state('ws1')).toEqual({ phase: 'connecting', model: 'm', connectedAt: clock.now });
    expect(registry.ready()).toEqual([]);
    expect(registry.admit('ws1', hello('gpu-1'))).toEqual({ ok: true, replaces: [] });
    registry.register('ws1', hello('gpu-1', { backend: 'webgpu', banks: ['b1'] }));
    expect(registry.ready()).toEqual([
      {
        connection: 'ws1',
        state: {
          phase: 'ready',
          model: 'm',
          runnerId: 'gpu-1',
          backend: 'webgpu',
          capacity: 2,
          banks: ['b1'],
          load: 0,
          lastSeen: clock.now,
          lastAssigned: 0,
        },
      },
    ]);
    expect(registry.find('gpu-1')).toEqual(['ws1']);
  });

  it.each([
    ['another protocol version', hello('r', { protocol: 2 }), RUNNER_CLOSE_CODES.unsupportedProtocol],
    ['another model', hello('r', { model: 'other' }), RUNNER_CLOSE_CODES.wrongModel],
  ] as const)('refuses a hello for %s and changes nothing', (_what, message, closeCode) => {
    const { registry } = setup();
    registry.accept('ws1', 'm');
    const before = registry.state('ws1');
    expect(registry.admit('ws1', message)).toMatchObject({ ok: false, closeCode });
    expect(registry.state('ws1')).toEqual(before);
  });

  it('names the older connection of a runner id that says hello again, to be replaced', () => {
    const { registry } = setup();
    connectReady(registry, 'ws1', hello('gpu-1'));
    connectReady(registry, 'ws2', hello('gpu-2'));
    registry.accept('ws3', 'm');
    expect(registry.admit('ws3', hello('gpu-1'))).toEqual({ ok: true, replaces: ['ws1'] });
  });

  it('drops a runner silent for the heartbeat timeout, and one that never says hello', () => {
    const { registry, clock } = setup();
    connectReady(registry, 'beating', hello('beating'));
    connectReady(registry, 'silent', hello('silent'));
    registry.accept('mute', 'm');
    expect(registry.nextExpiry()).toBe(clock.now + TIMEOUT);
    for (let i = 0; i < 5; i++) {
      clock.advance(TIMEOUT / 3);
      registry.heartbeat('beating', 0.5, ['b1']);
      if (i < 2) expect([...registry.silent()]).toEqual([]);
    }
    expect([...registry.silent()]).toEqual(['silent', 'mute']);
    expect(registry.isSilent('beating')).toBe(false);
    // The next check is due when the beating runner would fall silent.
    expect(registry.forget('silent')?.runnerId).toBe('silent');
    expect(registry.forget('mute')).toBeNull();
    expect(registry.nextExpiry()).toBe(clock.now + TIMEOUT);
    expect(registry.ready().map((r) => r.state)).toEqual([
      expect.objectContaining({ runnerId: 'beating', load: 0.5, banks: ['b1'], lastSeen: clock.now }),
    ]);
  });

  it('exactly at the timeout a runner is silent; a millisecond earlier it is not', () => {
    const { registry, clock } = setup();
    connectReady(registry, 'ws1', hello('r1'));
    clock.advance(TIMEOUT - 1);
    expect(registry.isSilent('ws1')).toBe(false);
    clock.advance(1);
    expect(registry.isSilent('ws1')).toBe(true);
  });

  it('spares a connection heard while an earlier silent one is being dropped', () => {
    const { registry, clock } = setup();
    connectReady(registry, 'ws1', hello('r1'));
    connectReady(registry, 'ws2', hello('r2'));
    clock.advance(TIMEOUT);
    const dropped: string[] = [];
    for (const connection of registry.silent()) {
      dropped.push(connection);
      registry.forget(connection);
      registry.touch('ws2');
    }
    expect(dropped).toEqual(['ws1']);
  });

  it('touch and heartbeat ignore a connection that is not a ready runner', () => {
    const { registry, connections, clock } = setup();
    registry.accept('ws1', 'm');
    expect(registry.touch('ws1')).toBeNull();
    registry.heartbeat('ws1', 1, ['b']);
    expect(registry.state('ws1')?.phase).toBe('connecting');
    connectReady(registry, 'ws2', hello('r2'));
    registry.forget('ws2');
    expect(registry.touch('ws2')).toBeNull();
    expect(connections.read('ws2')).toBeNull();
    expect(registry.find('r2')).toEqual([]);
    connections.drop('ws2');
    // Only the connection still waiting for its hello is timed.
    expect(registry.nextExpiry()).toBe(clock.now + TIMEOUT);
  });

  it('records an assignment: the bank is held from then on, once, and the time', () => {
    const { registry, clock } = setup();
    connectReady(registry, 'ws1', hello('r1', { banks: ['b1'] }));
    clock.advance(10);
    registry.assigned('ws1', 'b2');
    registry.assigned('ws1', 'b1');
    registry.assigned('ws1', null);
    expect(registry.state('ws1')).toMatchObject({ banks: ['b1', 'b2'], lastAssigned: clock.now });
  });
});
