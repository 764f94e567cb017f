/**
 * The dispatcher's time budget, shared by the handler, the stack and the fan-out benchmark so
 * that they cannot disagree.
 *
 *   tick t                                                    tick t + interval
 *   |---- launching (20 RunTask a second) ----|-- margin --|-|
 *                                   deadline ^    timeout ^
 */

/** Time kept back from the Lambda's deadline for the watermark commit and metrics. */
export const DISPATCH_DEADLINE_MARGIN_MS = 5_000;

/** The dispatch function's timeout: it ends before the next tick starts (at most Lambda's useful 300 s here). */
export function dispatchTimeoutSeconds(tickMinutes: number): number {
  return Math.min(60 * tickMinutes - 2, 300);
}
