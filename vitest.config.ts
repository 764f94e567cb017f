import { defineConfig } from 'vitest/config';

/**
 * Three tiers, all run by `npm test` and in CI:
 * - unit: pure code, fast;
 * - integration: the real restic binary and real backend servers on 127.0.0.1;
 * - infra: CDK synthesis, assertions and cdk-nag.
 */
export default defineConfig({
  test: {
    reporters: ['default', './test/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 10_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // Backend servers use fixed ports (azurite is 127.0.0.1:10000 only): one file at a time.
          fileParallelism: false,
          globalSetup: ['test/integration/global-setup.ts'],
        },
      },
      {
        test: {
          name: 'infra',
          include: ['test/infra/**/*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
