/**
 * Pacing for AWS calls: a sliding-window limit (ECS allows about 20 RunTask calls a second
 * per account and Region) and jittered exponential backoff for throttling and transient
 * failures. Time is injected, so tests run on a virtual clock.
 */

/** A clock and a way to wait on it. */
export interface Timer {
  /** Milliseconds since the epoch. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** Wall-clock time and `setTimeout`. */
export const realTimer: Timer = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * At most `limit` calls in any window of `windowMs`. Callers `await take()` before each call;
 * turns are handed out in order.
 *
 * ```
 * limit 3, window 1000 ms:   t=0 t=0 t=0 | t=1000 (waits for the first to leave the window)
 * ```
 */
export class RatePacer {
  private readonly recent: number[] = [];
  private queue: Promise<void> = Promise.resolve();

  constructor(
    readonly limit = 20,
    readonly windowMs = 1000,
    private readonly timer: Timer = realTimer,
  ) {}

  /** Resolves when a call may be made. */
  take(): Promise<void> {
    const turn = this.queue.then(() => this.wait());
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private async wait(): Promise<void> {
    for (;;) {
      const now = this.timer.now();
      while (this.recent.length && this.recent[0] <= now - this.windowMs) this.recent.shift();
      if (this.recent.length < this.limit) {
        this.recent.push(now);
        return;
      }
      await this.timer.sleep(this.recent[0] + this.windowMs - now);
    }
  }
}

/**
 * The wait before retry number `attempt` (0-based): exponential, capped, with "equal jitter"
 * (half fixed, half random) so a burst of throttled callers spreads out.
 */
export function backoffMs(attempt: number, random: () => number = Math.random, baseMs = 200, capMs = 5000): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** attempt);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
