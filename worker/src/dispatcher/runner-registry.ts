/**
 * The runner registry: which connections are runners, what each announced (id, backend,
 * capacity, banks, load) and when each was last heard, so silent ones are dropped after
 * RUNNER_HEARTBEAT_TIMEOUT_MS. A connection is `connecting` until its hello is accepted,
 * then `ready`; forgetting it ends both. The state is kept with the connection itself
 * through `RunnerConnections` (the shell stores it as the WebSocket's serialized attachment,
 * which survives hibernation), so the registry holds nothing of its own and any connection
 * type works; the unit tests use strings. Time comes from the injected clock.
 */
import { RUNNER_CLOSE_CODES, RUNNER_PROTOCOL_VERSION, type HelloMessage } from '@maskunet/contract';
import type { Clock } from './types';

/** What is kept per connection. Changing this shape breaks connections that hibernated. */
export type RunnerState =
  | { readonly phase: 'connecting'; readonly model: string; readonly connectedAt: number }
  | {
      readonly phase: 'ready';
      readonly model: string;
      readonly runnerId: string;
      readonly backend: string;
      readonly capacity: number;
      readonly banks: readonly string[];
      /** The runner's own 0–1 estimate from its last heartbeat. */
      readonly load: number;
      readonly lastSeen: number;
      /** When it was last given a job (0: never); the idler runner wins a tie. */
      readonly lastAssigned: number;
    };

export type ReadyState = Extract<RunnerState, { phase: 'ready' }>;

/** Where connections and their states live. */
export interface RunnerConnections<C> {
  /** Every open connection, in a stable order. */
  list(): readonly C[];
  /** The state kept with `connection`; null once forgotten. */
  read(connection: C): RunnerState | null;
  /** Replaces it; null forgets the connection (it may already be closed: never throws then). */
  write(connection: C, state: RunnerState | null): void;
}

export interface RunnerRegistryOptions {
  /** Silence after which a runner is dropped. RUNNER_HEARTBEAT_TIMEOUT_MS (default 30 s). */
  readonly heartbeatTimeoutMs: number;
  readonly clock: Clock;
}

export type HelloAdmission<C> =
  | {
      readonly ok: true;
      /** Older connections of the same runner id, to close and treat as gone. */ readonly replaces: readonly C[];
    }
  | { readonly ok: false; readonly closeCode: number; readonly reason: string };

export class RunnerRegistry<C> {
  private readonly heartbeatTimeoutMs: number;
  private readonly clock: Clock;

  /** @throws RangeError when `heartbeatTimeoutMs` is not a positive integer. */
  constructor(
    private readonly connections: RunnerConnections<C>,
    options: RunnerRegistryOptions,
  ) {
    if (!Number.isSafeInteger(options.heartbeatTimeoutMs) || options.heartbeatTimeoutMs <= 0) {
      throw new RangeError(
        `heartbeatTimeoutMs must be a positive integer, got ${options.heartbeatTimeoutMs}`,
      );
    }
    this.heartbeatTimeoutMs = options.heartbeatTimeoutMs;
    this.clock = options.clock;
  }

  /** A new connection for `model`; it has until the heartbeat timeout to say hello. */
  accept(connection: C, model: string): void {
    this.connections.write(connection, { phase: 'connecting', model, connectedAt: this.clock() });
  }

  state(connection: C): RunnerState | null {
    return this.connections.read(connection);
  }

  /** Checks a hello against the connection's model and the protocol version; changes nothing. */
  admit(connection: C, hello: HelloMessage): HelloAdmission<C> {
    const state = this.connections.read(connection);
    if (state === null || state.phase !== 'connecting') {
      return { ok: false, closeCode: RUNNER_CLOSE_CODES.protocolError, reason: 'hello was already sent' };
    }
    // Typed as the one version senders may write; at run time any number can arrive.
    const announced: number = hello.protocol;
    if (announced !== RUNNER_PROTOCOL_VERSION) {
      return {
        ok: false,
        closeCode: RUNNER_CLOSE_CODES.unsupportedProtocol,
        reason: `protocol ${RUNNER_PROTOCOL_VERSION} only`,
      };
    }
    if (hello.model !== state.model) {
      return {
        ok: false,
        closeCode: RUNNER_CLOSE_CODES.wrongModel,
        reason: `this dispatcher serves ${state.model}`,
      };
    }
    const replaces = this.ready()
      .filter((other) => other.state.runnerId === hello.runnerId && other.connection !== connection)
      .map((other) => other.connection);
    return { ok: true, replaces };
  }

  /** Makes an admitted connection a ready runner, idle and just heard. */
  register(connection: C, hello: HelloMessage): ReadyState {
    const state = this.connections.read(connection);
    const ready: ReadyState = {
      phase: 'ready',
      model: state?.model ?? hello.model,
      runnerId: hello.runnerId,
      backend: hello.backend,
      capacity: hello.capacity,
      banks: [...hello.banks],
      load: 0,
      lastSeen: this.clock(),
      lastAssigned: 0,
    };
    this.connections.write(connection, ready);
    return ready;
  }

  /** Notes that a ready runner was heard now; null when the connection is not a ready runner. */
  touch(connection: C): ReadyState | null {
    const state = this.connections.read(connection);
    if (state === null || state.phase !== 'ready') return null;
    const seen: ReadyState = { ...state, lastSeen: this.clock() };
    this.connections.write(connection, seen);
    return seen;
  }

  /** A heartbeat: the runner's load and the banks it holds now (replacing the old list). */
  heartbeat(connection: C, load: number, banks: readonly string[]): void {
    const seen = this.touch(connection);
    if (seen !== null) this.connections.write(connection, { ...seen, load, banks: [...banks] });
  }

  /** Records a job given to a runner now: it holds `bankId` from then on. */
  assigned(connection: C, bankId: string | null): void {
    const state = this.connections.read(connection);
    if (state === null || state.phase !== 'ready') return;
    const banks = bankId === null || state.banks.includes(bankId) ? state.banks : [...state.banks, bankId];
    this.connections.write(connection, { ...state, banks, lastAssigned: this.clock() });
  }

  /** Ready runners, in connection order. */
  ready(): { readonly connection: C; readonly state: ReadyState }[] {
    const out: { connection: C; state: ReadyState }[] = [];
    for (const connection of this.connections.list()) {
      const state = this.connections.read(connection);
      if (state !== null && state.phase === 'ready') out.push({ connection, state });
    }
    return out;
  }

  /** Ready connections of one runner id (two only while a reconnect replaces the old one). */
  find(runnerId: string): C[] {
    return this.ready()
      .filter((r) => r.state.runnerId === runnerId)
      .map((r) => r.connection);
  }

  /**
   * Forgets a connection (closed, replaced, silent, or broke the protocol).
   * @returns its state when it was a ready runner, whose jobs are then orphaned; else null.
   */
  forget(connection: C): ReadyState | null {
    const state = this.connections.read(connection);
    this.connections.write(connection, null);
    return state !== null && state.phase === 'ready' ? state : null;
  }

  /** True when `connection` has been silent (or without hello) for the heartbeat timeout. */
  isSilent(connection: C, now: number = this.clock()): boolean {
    const expiry = this.expiryOf(connection);
    return expiry !== null && expiry <= now;
  }

  /**
   * Connections silent at `now`, checked one at a time as they are taken, so one heard
   * while an earlier one is being dropped is spared.
   */
  *silent(now: number = this.clock()): Generator<C, void, undefined> {
    for (const connection of this.connections.list()) if (this.isSilent(connection, now)) yield connection;
  }

  /** When the next connection falls silent if nothing is heard; null with no connection. */
  nextExpiry(): number | null {
    let next: number | null = null;
    for (const connection of this.connections.list()) {
      const expiry = this.expiryOf(connection);
      if (expiry !== null && (next === null || expiry < next)) next = expiry;
    }
    return next;
  }

  private expiryOf(connection: C): number | null {
    const state = this.connections.read(connection);
    if (state === null) return null;
    return (state.phase === 'ready' ? state.lastSeen : state.connectedAt) + this.heartbeatTimeoutMs;
  }
}
