/**
 * `status/<name>.json` and `status/recoveries/<name>.json` in the config bucket, updated by
 * read-modify-write with conditional writes, so the dispatcher marking a run as running and
 * the record Lambda storing its outcome never overwrite each other.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { RecoveryStatusSchema, type RecoveryStatus } from '../schemas/recovery';
import { SpecStatusSchema, type SpecStatus } from '../schemas/status';
import type { RecoveryStatusStore, StatusStore } from '../core/ports';
import { emptyStatus } from '../core/status';
import { S3JsonObjects } from './s3-json';
import { normalisePrefix } from './s3';

/** Where statuses live. */
export interface S3StatusStoreOptions {
  readonly client: S3Client;
  readonly bucket: string;
  /** e.g. `status/`. */
  readonly prefix: string;
}

/** {@link StatusStore} on S3. `list()` fetches only statuses whose ETag changed. */
export class S3StatusStore implements StatusStore {
  readonly objects: S3JsonObjects<typeof SpecStatusSchema>;

  constructor(options: S3StatusStoreOptions) {
    this.objects = new S3JsonObjects(options.client, options.bucket, normalisePrefix(options.prefix), SpecStatusSchema);
  }

  async get(name: string): Promise<SpecStatus | undefined> {
    return (await this.objects.read(name))?.value;
  }

  list(): Promise<SpecStatus[]> {
    return this.objects.list();
  }

  update(name: string, change: (current: SpecStatus) => SpecStatus): Promise<SpecStatus> {
    return this.objects.update(name, (current) => SpecStatusSchema.parse(change(current ?? emptyStatus(name))));
  }
}

/** {@link RecoveryStatusStore} on S3, under `<status prefix>recoveries/`. */
export class S3RecoveryStatusStore implements RecoveryStatusStore {
  readonly objects: S3JsonObjects<typeof RecoveryStatusSchema>;

  constructor(options: S3StatusStoreOptions) {
    this.objects = new S3JsonObjects(options.client, options.bucket, `${normalisePrefix(options.prefix)}recoveries/`, RecoveryStatusSchema);
  }

  async get(name: string): Promise<RecoveryStatus | undefined> {
    return (await this.objects.read(name))?.value;
  }

  list(): Promise<RecoveryStatus[]> {
    return this.objects.list();
  }

  update(name: string, change: (current: RecoveryStatus | undefined) => RecoveryStatus): Promise<RecoveryStatus> {
    return this.objects.update(name, (current) => RecoveryStatusSchema.parse(change(current)));
  }
}
