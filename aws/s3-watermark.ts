/**
 * The dispatcher's watermark, `state/watermark.json`, with compare-and-swap on its ETag:
 * a tick's claim is a PutObject with `If-Match` (or `If-None-Match: *` for the very first),
 * so of two overlapping ticks exactly one claims the window.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { Watermark, WatermarkRead } from '../core/ports';
import { WatermarkStateSchema, type WatermarkState } from '../schemas/watermark';
import { S3JsonObjects } from './s3-json';
import { normalisePrefix } from './s3';

/** Where the watermark lives. */
export interface S3WatermarkOptions {
  readonly client: S3Client;
  readonly bucket: string;
  /** e.g. `state/`. */
  readonly prefix: string;
  /** @default 'watermark' */
  readonly name?: string;
}

/** {@link Watermark} on one S3 object; the token is its ETag. */
export class S3Watermark implements Watermark {
  private readonly objects: S3JsonObjects<typeof WatermarkStateSchema>;
  private readonly name: string;

  constructor(options: S3WatermarkOptions) {
    this.objects = new S3JsonObjects(options.client, options.bucket, normalisePrefix(options.prefix), WatermarkStateSchema);
    this.name = options.name ?? 'watermark';
  }

  /** The object key, for log lines. */
  get key(): string {
    return this.objects.key(this.name);
  }

  async read(): Promise<WatermarkRead> {
    const got = await this.objects.read(this.name);
    return got ? { state: got.value, token: got.etag } : {};
  }

  write(state: WatermarkState, token: string | undefined): Promise<string | undefined> {
    return this.objects.write(this.name, WatermarkStateSchema.parse(state), token === undefined ? { ifNoneMatch: '*' } : { ifMatch: token });
  }
}
