import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/errors';
import { dispatchTimeoutSeconds } from '../../core/limits';

describe('dispatchTimeoutSeconds', () => {
  it.each([
    [1, 58],
    [2, 118],
    [5, 298],
    [6, 300],
    [60, 300],
  ])('gives a %i-minute tick %i seconds', (tickMinutes, seconds) => {
    expect(dispatchTimeoutSeconds(tickMinutes)).toBe(seconds);
  });

  it.each([0, 1.5, 61, -1, Number.NaN])('refuses a tick of %s minutes', (tickMinutes) => {
    expect(() => dispatchTimeoutSeconds(tickMinutes)).toThrow(
      new ConfigError(`tickMinutes ${tickMinutes} must be a whole number of minutes from 1 to 60`),
    );
  });
});
