/**
 * The Fargate task size for a spec's `resources` (Kubernetes quantities): the smallest valid
 * Fargate CPU/memory combination that covers the larger of requests and limits, and
 * ephemeral storage above Fargate's included 20 GiB.
 *
 * @example fargateSize({ limits: { cpu: '500m', memory: '3Gi' } }) // { cpu: '512', memory: '3072' }
 */
import type { Resources } from '../schemas/restic';
import { ConfigError } from './errors';

/**
 * The largest task a spec's `resources` may ask for unless the stack says otherwise
 * (`maxTaskCpu`, `maxTaskMemoryMiB`): 4 vCPU and 16 GiB.
 */
export const DEFAULT_MAX_TASK_SIZE = { cpu: 4096, memoryMiB: 16384 } as const;

/**
 * Valid memory sizes (MiB) per Fargate CPU size (units of 1/1024 vCPU): the one table that
 * the stack's `taskCpu`/`taskMemoryMiB` settings and a spec's `resources` are held to.
 */
export const FARGATE_SIZES: readonly (readonly [cpu: number, memory: readonly number[]])[] = [
  [256, [512, 1024, 2048]],
  [512, range(1024, 4096, 1024)],
  [1024, range(2048, 8192, 1024)],
  [2048, range(4096, 16384, 1024)],
  [4096, range(8192, 30720, 1024)],
  [8192, range(16384, 61440, 4096)],
  [16384, range(32768, 122880, 8192)],
];

function range(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let v = from; v <= to; v += step) out.push(v);
  return out;
}

/** The memory sizes (MiB) Fargate accepts with `cpu` units; none when `cpu` is not a Fargate CPU size. */
export function fargateMemories(cpu: number): readonly number[] {
  return FARGATE_SIZES.find(([units]) => units === cpu)?.[1] ?? [];
}

/**
 * `memories` as an error message lists them: `512, 1024 or 2048`, or, when evenly spaced,
 * `2048 to 8192 in steps of 1024`.
 */
export function describeSizes(memories: readonly number[]): string {
  const step = memories[1] - memories[0];
  if (memories.length > 3 && memories.every((m, i) => m === memories[0] + i * step)) {
    return `${memories[0]} to ${memories[memories.length - 1]} in steps of ${step}`;
  }
  return memories.length > 1 ? `${memories.slice(0, -1).join(', ')} or ${memories[memories.length - 1]}` : memories.join('');
}

const SUFFIX: Record<string, number> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** A Kubernetes quantity as a plain number (`500m` -> 0.5, `2Gi` -> 2147483648). */
export function parseQuantity(q: string | number): number {
  if (typeof q === 'number') return q;
  const m = /^(\d+(?:\.\d+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/.exec(q);
  if (!m) throw new ConfigError(`"${q}" is not a Kubernetes quantity`);
  return Number(m[1]) * SUFFIX[m[2] ?? ''];
}

/** What the RunTask overrides set; undefined fields keep the task definition's. */
export interface TaskSize {
  /** CPU units, as RunTask wants them (a string). */
  readonly cpu?: string;
  /** MiB, as a string. */
  readonly memory?: string;
  /** GiB, 21..200; absent for the included 20 GiB. */
  readonly ephemeralStorageGiB?: number;
}

const larger = (a: string | number | undefined, b: string | number | undefined) =>
  Math.max(a === undefined ? 0 : parseQuantity(a), b === undefined ? 0 : parseQuantity(b));

/**
 * The task size for `spec.resources`. Throws ConfigError naming the field when it asks for
 * more than the largest Fargate task (16 vCPU, 120 GiB, 200 GiB of storage).
 */
export function fargateSize(resources: Resources | undefined): TaskSize {
  if (!resources) return {};
  const cores = larger(resources.requests?.cpu, resources.limits?.cpu);
  const bytes = larger(resources.requests?.memory, resources.limits?.memory);
  const storage = larger(resources.requests?.['ephemeral-storage'], resources.limits?.['ephemeral-storage']);
  const out: { cpu?: string; memory?: string; ephemeralStorageGiB?: number } = {};
  if (cores > 0 || bytes > 0) {
    const cpuUnits = Math.ceil(cores * 1024);
    const mib = Math.ceil(bytes / 2 ** 20);
    let found: [number, number] | undefined;
    for (const [cpu, memories] of FARGATE_SIZES) {
      if (cpu < cpuUnits) continue;
      const memory = memories.find((m) => m >= mib);
      if (memory !== undefined) {
        found = [cpu, memory];
        break;
      }
    }
    if (!found) {
      throw new ConfigError(
        `spec.resources: ${cores} vCPU and ${Math.ceil(mib / 1024)} GiB exceed the largest Fargate task (16 vCPU, 120 GiB)`,
      );
    }
    out.cpu = String(found[0]);
    out.memory = String(found[1]);
  }
  if (storage > 0) {
    const gib = Math.ceil(storage / 2 ** 30);
    if (gib > 200) throw new ConfigError(`spec.resources: ephemeral-storage of ${gib} GiB exceeds Fargate's 200 GiB`);
    if (gib > 20) out.ephemeralStorageGiB = Math.max(21, gib);
  }
  return out;
}
