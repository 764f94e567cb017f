/**
 * The Fargate task's composition root: AWS clients built once, the spec read from the
 * config bucket at the version the dispatcher planned with, the secret from Secrets Manager
 * by ARN, JSON log lines through Powertools' Logger, SIGTERM (how Fargate stops a task)
 * turned into a clean stop of restic.
 */
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { LogAttributes } from '@aws-lambda-powertools/logger/types';
import * as z from '../schemas/zod';
import { S3RunStore } from '../aws/s3-run-store';
import { readSecret } from '../aws/secrets-manager';
import { errorMessage } from '../core/errors';
import { RUNS_PREFIX } from '../schemas/bucket';
import { OUTCOME_EXIT_CODES, type RunResult } from '../schemas/status';
import type { RunLog } from '../runner/run';
import { readTaskEnv, runTask, type TaskInputs } from './task';

const BucketEnvSchema = z.object({ CONFIG_BUCKET: z.string().check(z.minLength(1, 'CONFIG_BUCKET is required')) });

/** Task inputs from S3 and Secrets Manager. */
export function awsTaskInputs(bucket: string, s3 = new S3Client({}), secrets = new SecretsManagerClient({})): TaskInputs {
  return {
    async specDocument(env) {
      const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: env.STASH_SPEC_KEY, VersionId: env.STASH_SPEC_VERSION }));
      return { source: `s3://${bucket}/${env.STASH_SPEC_KEY}`, version: out.VersionId ?? env.STASH_SPEC_VERSION, text: (await out.Body?.transformToString('utf8')) ?? '' };
    },
    async recoveryDocument(env) {
      const key = env.STASH_RECOVERY_KEY ?? '';
      const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return { source: `s3://${bucket}/${key}`, version: out.VersionId, text: (await out.Body?.transformToString('utf8')) ?? '' };
    },
    async secret(env) {
      return (await readSecret(secrets, env.STASH_SECRET_ID))?.secret;
    },
  };
}

async function main(): Promise<number> {
  const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'stash' });
  let env;
  let bucket;
  try {
    env = readTaskEnv(process.env);
    bucket = BucketEnvSchema.parse(process.env).CONFIG_BUCKET;
  } catch (err) {
    logger.error('cannot start', { outcome: 'config-error', error: err instanceof Error ? err.message : String(err) });
    return OUTCOME_EXIT_CODES['config-error'];
  }
  logger.appendKeys({ spec: env.STASH_SPEC_NAME, run: env.STASH_RUN_ID, slot: env.STASH_SLOT });
  const controller = new AbortController();
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.once(sig, () => {
      logger.warn('stop requested; stopping restic', { signal: sig });
      controller.abort();
    });
  }
  const attrs = (extra?: Record<string, unknown>) => (extra ?? {}) as LogAttributes;
  const log: RunLog = {
    info: (m, e) => logger.info(m, attrs(e)),
    warn: (m, e) => logger.warn(m, attrs(e)),
    error: (m, e) => logger.error(m, attrs(e)),
  };
  // BytesAdded comes from restic's own summary, which only the runner sees: one EMF line.
  const metrics = new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'Stash', serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'stash' });
  // Each result goes to runs/<spec>/<run>.json, where the record function reads it when the task stops.
  const s3 = new S3Client({});
  const runs = new S3RunStore({ client: s3, bucket, prefix: RUNS_PREFIX });
  const onResult = async (result: RunResult) => {
    try {
      await runs.put(result);
    } catch (err) {
      logger.warn('could not store the run result; the record function goes by the exit code', { run: result.run, error: errorMessage(err) });
    }
    if (result.kind !== 'backup') return;
    metrics.addMetric('BytesAdded', MetricUnit.Bytes, result.fileGroups.reduce((n, g) => n + (g.dataAdded ?? 0), 0));
    metrics.publishStoredMetrics();
  };
  return runTask(env, awsTaskInputs(bucket, s3), log, controller.signal, onResult);
}

process.exitCode = await main();
