/**
 * The validate Lambda, for EventBridge S3 "Object Created" / "Object Deleted" events under
 * the spec prefix: validates the object at once and writes the result into the status of
 * each spec (or Recovery) in it, so a broken upload shows why within seconds.
 *
 * It reads the object as it is now rather than the event's version: events can arrive out
 * of order, and the last one handled then still leaves the status matching what is stored.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { errorMessage } from '../core/errors';
import { recordDeletion, recordValidation, type ValidationReport } from '../core/validate';
import { isSpecKey } from '../aws/s3-spec-store';
import { s3Uri } from '../aws/s3';
import { composeValidate, type ValidateRuntime } from './compose';
import type { LambdaContext } from './dispatch';
import { readEnv, ValidateEnvSchema } from './env';
import { parseEvent, S3ObjectEventSchema } from './events';

/** What the handler did with an event. */
export interface ValidateResult {
  readonly source?: string;
  /** Why an event was left alone (another bucket, outside the spec prefix, not a spec file). */
  readonly ignored?: string;
  readonly deleted?: boolean;
  readonly specs?: readonly { readonly name: string; readonly valid: boolean; readonly errors: readonly string[] }[];
  readonly recoveries?: ValidationReport['recoveries'];
}

/** Keys in S3 event notifications may arrive URL-encoded (`+` for a space). */
function decodeKey(key: string): string | undefined {
  if (!/%[0-9A-Fa-f]{2}|\+/.test(key)) return undefined;
  try {
    return decodeURIComponent(key.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/** A validate handler over a composed runtime. */
export function createValidateHandler(rt: ValidateRuntime): (event: unknown, context?: LambdaContext) => Promise<ValidateResult> {
  return async (event) => {
    const { logger, metrics, env } = rt;
    const { detail } = parseEvent(S3ObjectEventSchema, event, 'an S3 Object Created or Object Deleted event');
    const bucket = detail.bucket.name;
    let key = detail.object.key;
    if (bucket !== env.CONFIG_BUCKET) return { ignored: `object in another bucket (${bucket})` };
    if (!key.startsWith(env.SPEC_PREFIX)) return { ignored: `${key} is not under ${env.SPEC_PREFIX}` };
    if (!isSpecKey(key)) return { ignored: `${key} is not a .yaml, .yml or .json file` };
    const now = rt.clock.now();
    const deps = { statuses: rt.statuses, recoveries: rt.recoveries, s3Repositories: rt.s3Repositories };
    try {
      let doc = await rt.specs.read(key);
      const decoded = doc ? undefined : decodeKey(key);
      if (decoded) {
        doc = await rt.specs.read(decoded);
        if (doc) key = decoded;
      }
      const source = s3Uri(bucket, key);
      const report = doc ? await recordValidation(deps, doc, now) : await recordDeletion(deps, source, now);
      for (const s of report.specs) {
        const keys = { spec: s.name, source: s.validation.source, version: s.validation.version };
        if (s.validation.valid) logger.info(doc ? 'spec valid' : 'spec deleted', { ...keys, warnings: s.validation.warnings });
        else logger.warn(doc ? 'spec invalid' : 'spec deleted', { ...keys, errors: s.validation.errors });
      }
      for (const r of report.recoveries) {
        if (r.valid) logger.info('recovery accepted', { recovery: r.name, source });
        else logger.warn('recovery invalid', { recovery: r.name, source, errors: r.errors });
      }
      for (const e of report.errors) logger.error(e, { source });
      const invalid = report.specs.filter((s) => !s.validation.valid).length + report.recoveries.filter((r) => !r.valid).length;
      metrics.addMetric('SpecsInvalid', MetricUnit.Count, doc ? invalid : 0);
      return {
        source,
        deleted: !doc,
        specs: report.specs.map((s) => ({ name: s.name, valid: s.validation.valid, errors: s.validation.errors })),
        recoveries: report.recoveries,
      };
    } catch (err) {
      logger.error('could not validate', { source: s3Uri(bucket, key), error: errorMessage(err) });
      throw err;
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}

let warm: ((event: unknown, context?: LambdaContext) => Promise<ValidateResult>) | undefined;

/** The Lambda entry point; reads its environment on a container's first invocation. */
export const handler = async (event: unknown, context?: LambdaContext): Promise<ValidateResult> => {
  warm ??= createValidateHandler(composeValidate(readEnv(ValidateEnvSchema)));
  return warm(event, context);
};
