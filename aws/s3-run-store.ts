/**
 * `runs/<spec>/<run>.json` in the config bucket: the task writes each result it has (a
 * backup's and the check's that rode along with it) before it exits; the record function
 * reads them when the task stops, and writes the result it derived from the exit code for a
 * task that died before it could. `stash history` lists them; a lifecycle rule expires them
 * with the logs, so a spec's history is as long as its logs are kept.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { mapLimit } from '../core/concurrency';
import { DEFAULT_HISTORY_LIMIT, type RunStore } from '../core/ports';
import { newestFirst } from '../core/status';
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

  /**
   * Lists the spec's results (one LIST per 1,000), reads the `limit` written last, and returns
   * them newest first by start. A result that cannot be read is left out.
   */
  async list(spec: string, options: { readonly limit?: number } = {}): Promise<RunResult[]> {
    const objects = this.objects(spec);
    const found = await objects.names();
    const newest = found.sort((a, b) => (b.lastModified?.getTime() ?? 0) - (a.lastModified?.getTime() ?? 0)).slice(0, options.limit ?? DEFAULT_HISTORY_LIMIT);
    const results = await mapLimit(newest, 8, (o) =>
      objects.read(o.name).then(
        (r) => r?.value,
        () => undefined,
      ),
    );
    return newestFirst(results.filter((r): r is RunResult => r !== undefined));
  }
}
