/**
 * The routing policy: which runner gets a job. Among runners with a free slot, one that
 * holds the job's bank wins (it skips the download and the decode); then the lower load —
 * the larger of its slots in use and its own heartbeat estimate; then the runner idle
 * longest; then the runner id, so equal runners are picked the same way every time.
 * `routeJobs` applies it to the waiting jobs oldest first and stops at the first job no
 * runner has room for, so a later job does not overtake an earlier one for want of a slot.
 */

/** One runner as the policy sees it during a pass. */
export interface RunnerCandidate<R> {
  /** What the caller needs to send the job (the shell: connection and state). */
  readonly runner: R;
  readonly runnerId: string;
  readonly capacity: number;
  /** Slots in use; `routeJobs` counts its own assignments in. */
  running: number;
  /** The runner's heartbeat estimate, 0–1. */
  readonly load: number;
  banks: readonly string[];
  lastAssigned: number;
}

/** Negative when `a` should get a job of `bankId` before `b`. */
export function rankRunners<R>(a: RunnerCandidate<R>, b: RunnerCandidate<R>, bankId: string | null): number {
  if (bankId !== null) {
    const affinity = Number(b.banks.includes(bankId)) - Number(a.banks.includes(bankId));
    if (affinity !== 0) return affinity;
  }
  const byLoad = loadOf(a) - loadOf(b);
  if (byLoad !== 0) return byLoad;
  if (a.lastAssigned !== b.lastAssigned) return a.lastAssigned - b.lastAssigned;
  return a.runnerId < b.runnerId ? -1 : a.runnerId > b.runnerId ? 1 : 0;
}

/** The best runner with a free slot for a job of `bankId`, or null when all are full. */
export function chooseRunner<R>(
  candidates: readonly RunnerCandidate<R>[],
  bankId: string | null,
): RunnerCandidate<R> | null {
  const free = candidates.filter((c) => c.running < c.capacity);
  return free.sort((a, b) => rankRunners(a, b, bankId))[0] ?? null;
}

/**
 * Offers `jobs` (oldest first) to `candidates`. `assign` sends a job to the chosen runner and
 * answers false when it could not (its connection just died): that runner is taken out of
 * this pass and the job waits for the next pass, while the pass goes on with the next job
 * (the dead connection's close re-queues what it held and dispatches again). Each assignment counts against the runner's slots,
 * adds the job's bank to it and makes it the most recently assigned (`now`).
 */
export function routeJobs<J, R>(
  jobs: readonly J[],
  bankOf: (job: J) => string | null,
  candidates: readonly RunnerCandidate<R>[],
  now: number,
  assign: (job: J, runner: RunnerCandidate<R>) => boolean,
): void {
  for (const job of jobs) {
    const bankId = bankOf(job);
    const pick = chooseRunner(candidates, bankId);
    if (pick === null) return;
    if (!assign(job, pick)) {
      pick.running = Number.POSITIVE_INFINITY;
      continue;
    }
    pick.running += 1;
    if (bankId !== null && !pick.banks.includes(bankId)) pick.banks = [...pick.banks, bankId];
    pick.lastAssigned = now;
  }
}

function loadOf<R>(candidate: RunnerCandidate<R>): number {
  return Math.max(candidate.running / candidate.capacity, candidate.load);
}
