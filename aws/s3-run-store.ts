/**
 * `runs/<spec>/<run>.json` in the config bucket: the task writes each result it has (a
 * backup's and the check's that rode along with it) before it exits; the record function
 * reads them when the task stops, and writes the result it derived from the exit code for a
 * task that died before it could.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { RunStore } from '../core/ports';
import { RunResultSchema, type RunResult } from '../schemas/status';
import { S3JsonObjects } from './s3-json';
import { normalisePrefix } from './s3';

/** {@link RunStore} on S3. */
export class S3RunStore implements RunStore {
  constructor(private readonly options: { readonly client: S3Client; readonly bucket: string; /** e.g. `runs/`. */ readonly prefix: string }) {}

  private objects(spec: string): S3JsonObjects<typeof RunResultSchema> {
    return new S3JsonObjects(this.options.client, this.options.bucket, `${normalisePrefix(this.options.prefix)}${spec}/`, RunResultSchema);
  }

  async put(result: RunResult, options: { readonly ifAbsent?: boolean } = {}): Promise<void> {
    await this.objects(result.spec).write(result.run, result, options.ifAbsent ? { ifNoneMatch: '*' } : undefined);
  }

  async get(spec: string, run: string): Promise<RunResult | undefined> {
    return (await this.objects(spec).read(run))?.value;
  }
}
