/**
 * The routing policy: bank affinity beats load, load beats idleness, the runner id breaks
 * ties; a pass hands out jobs oldest first, counts its own assignments, and stops when every
 * runner is full.
 */
import { describe, expect, it } from 'vitest';
import { chooseRunner, routeJobs, type RunnerCandidate } from '../../src/dispatcher/routing-policy';

function runner(
  runnerId: string,
  overrides: Partial<Omit<RunnerCandidate<string>, 'runner' | 'runnerId'>> = {},
): RunnerCandidate<string> {
  return {
    runner: runnerId,
    runnerId,
    capacity: 1,
    running: 0,
    load: 0,
    banks: [],
    lastAssigned: 0,
    ...overrides,
  };
}

const pick = (candidates: RunnerCandidate<string>[], bankId: string | null) =>
  chooseRunner(candidates, bankId)?.runnerId ?? null;

describe('chooseRunner', () => {
  it('prefers the runner holding the bank even when it is busier', () => {
    const candidates = [
      runner('a-idle', { capacity: 4 }),
      runner('z-holder', { capacity: 4, running: 3, banks: ['b1'] }),
    ];
    expect(pick(candidates, 'b1')).toBe('z-holder');
    // Without a bank, or for a bank nobody holds, load decides.
    expect(pick(candidates, null)).toBe('a-idle');
    expect(pick(candidates, 'b2')).toBe('a-idle');
  });

  it('skips a full holder for another runner', () => {
    expect(pick([runner('a-plain'), runner('z-holder', { running: 1, banks: ['b1'] })], 'b1')).toBe(
      'a-plain',
    );
  });

  it("takes the larger of slots in use and the runner's own load estimate", () => {
    // The ids sort against the expected pick, so only the load can choose it.
    const busier = runner('a', { capacity: 4, running: 2 });
    expect(pick([busier, runner('z', { capacity: 4, running: 1 })], null)).toBe('z');
    // "a" has every slot free but reports itself 75 % busy; "z" is half full by slots.
    expect(
      pick([runner('a', { capacity: 4, load: 0.75 }), runner('z', { capacity: 2, running: 1 })], null),
    ).toBe('z');
    // A quarter of the slots in use (0.25) is busier than an idle runner reporting 0.2.
    expect(
      pick([runner('a', { capacity: 4, running: 1 }), runner('z', { capacity: 4, load: 0.2 })], null),
    ).toBe('z');
  });

  it('breaks a tie by the runner idle longest, then by id', () => {
    expect(pick([runner('a', { lastAssigned: 20 }), runner('b', { lastAssigned: 10 })], null)).toBe('b');
    expect(pick([runner('b'), runner('a')], null)).toBe('a');
  });

  it('answers null when every runner is full', () => {
    expect(pick([runner('a', { running: 1 }), runner('b', { capacity: 2, running: 2 })], null)).toBeNull();
    expect(pick([], null)).toBeNull();
  });
});

describe('routeJobs', () => {
  type Job = { id: string; bankId: string | null };
  const route = (jobs: Job[], candidates: RunnerCandidate<string>[], refuse: Set<string> = new Set()) => {
    const sent: string[] = [];
    routeJobs(
      jobs,
      (job) => job.bankId,
      candidates,
      100,
      (job, to) => {
        if (refuse.has(to.runnerId)) return false;
        sent.push(`${job.id}->${to.runnerId}`);
        return true;
      },
    );
    return sent;
  };

  it('hands out jobs oldest first and stops at the first job no runner has room for', () => {
    const candidates = [runner('r1'), runner('r2')];
    const sent = route(
      [
        { id: 'j1', bankId: null },
        { id: 'j2', bankId: null },
        { id: 'j3', bankId: null },
      ],
      candidates,
    );
    expect(sent).toEqual(['j1->r1', 'j2->r2']);
    expect(candidates.map((c) => c.running)).toEqual([1, 1]);
  });

  it('counts its own assignments: a runner that took a bank is preferred for the next job of it', () => {
    const candidates = [runner('r1', { capacity: 2 }), runner('r2', { capacity: 2 })];
    const sent = route(
      [
        { id: 'j1', bankId: 'b1' },
        { id: 'j2', bankId: null },
        { id: 'j3', bankId: 'b1' },
      ],
      candidates,
    );
    // j2 goes to the idler r2; j3 follows its bank to r1 although both now run one job.
    expect(sent).toEqual(['j1->r1', 'j2->r2', 'j3->r1']);
    expect(candidates[0]).toMatchObject({ running: 2, banks: ['b1'], lastAssigned: 100 });
  });

  it('leaves out a runner whose send failed, for the rest of the pass', () => {
    const candidates = [runner('a-dead', { capacity: 4 }), runner('b-live', { capacity: 4 })];
    const sent = route(
      [
        { id: 'j1', bankId: null },
        { id: 'j2', bankId: null },
      ],
      candidates,
      new Set(['a-dead']),
    );
    // j1 was offered to the dead runner and waits for the next pass; j2 goes to the live one.
    expect(sent).toEqual(['j2->b-live']);
  });
});
