/**
 * In-memory stand-ins for the dispatcher's stores, with the semantics of the real ones, for
 * tests and benchmarks of the pure core.
 */
import type { Watermark } from '../../core/ports';
import type { WatermarkState } from '../../schemas/watermark';
import type { StatusStore } from '../../core/ports';
import { emptyStatus } from '../../core/status';
import type { SpecStatus } from '../../schemas/status';

/** Compare-and-swap on a version number, as S3's If-Match on an ETag. */
export class MemoryWatermark implements Watermark {
  state?: WatermarkState;
  version = 0;
  /** Successful writes so far. */
  writes = 0;
  async read() {
    return { state: this.state && structuredClone(this.state), token: this.state ? String(this.version) : undefined };
  }
  async write(state: WatermarkState, token: string | undefined) {
    if (token !== (this.state ? String(this.version) : undefined)) return undefined;
    this.state = structuredClone(state);
    this.writes++;
    return String(++this.version);
  }
}

/** Statuses in a map. */
export class MemoryStatuses implements StatusStore {
  readonly map = new Map<string, SpecStatus>();
  async get(name: string) {
    return this.map.get(name);
  }
  async list() {
    return [...this.map.values()];
  }
  async update(name: string, change: (s: SpecStatus) => SpecStatus) {
    const next = change(this.map.get(name) ?? emptyStatus(name));
    this.map.set(name, next);
    return next;
  }
}
