import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/errors';
import { describeSizes, FARGATE_SIZES, fargateMemories, fargateSize, parseQuantity } from '../../core/task-size';
import type { Resources } from '../../schemas/restic';

/**
 * Fargate's CPU and memory combinations as AWS's documentation states them ("Task CPU and
 * memory", Amazon ECS Developer Guide): MiB from, to, in steps of.
 */
const DOCUMENTED: [cpu: number, memories: number[]][] = [
  [256, [512, 1024, 2048]],
  [512, steps(1024, 4096, 1024)],
  [1024, steps(2048, 8192, 1024)],
  [2048, steps(4096, 16384, 1024)],
  [4096, steps(8192, 30720, 1024)],
  [8192, steps(16384, 61440, 4096)],
  [16384, steps(32768, 122880, 8192)],
];

function steps(from: number, to: number, step: number): number[] {
  return Array.from({ length: (to - from) / step + 1 }, (_, i) => from + i * step);
}

describe('FARGATE_SIZES', () => {
  it('holds exactly the combinations Fargate documents', () => {
    expect(FARGATE_SIZES).toEqual(DOCUMENTED);
  });

  it.each([
    [256, [512, 1024, 2048]],
    [512, [1024, 2048, 3072, 4096]],
    [1000, []],
  ])('gives the memory sizes for %i CPU units', (cpu, memories) => {
    expect(fargateMemories(cpu)).toEqual(memories);
  });

  it.each([
    [[512, 1024, 2048], '512, 1024 or 2048'],
    [[1024, 2048, 3072, 4096], '1024 to 4096 in steps of 1024'],
    [[1024, 2048, 3072], '1024, 2048 or 3072'],
    [[512], '512'],
  ])('lists %j as %s', (memories, text) => {
    expect(describeSizes(memories)).toBe(text);
  });
});

describe('fargateSize', () => {
  it.each([
    [undefined, {}],
    [{}, {}],
    [{ requests: { cpu: '100m' } }, { cpu: '256', memory: '512' }],
    [{ requests: { cpu: '250m', memory: '512Mi' } }, { cpu: '256', memory: '512' }],
    [{ requests: { cpu: '250m', memory: '600Mi' } }, { cpu: '256', memory: '1024' }],
    [{ requests: { cpu: '250m', memory: '3Gi' } }, { cpu: '512', memory: '3072' }],
    [{ requests: { cpu: '1' }, limits: { cpu: 2, memory: '1G' } }, { cpu: '2048', memory: '4096' }],
    [{ limits: { cpu: '4', memory: '30Gi' } }, { cpu: '4096', memory: '30720' }],
    [{ limits: { cpu: '4', memory: '31Gi' } }, { cpu: '8192', memory: '32768' }],
    [{ limits: { cpu: '16', memory: '120Gi' } }, { cpu: '16384', memory: '122880' }],
    [{ limits: { 'ephemeral-storage': '10Gi' } }, {}],
    [{ limits: { 'ephemeral-storage': '20.5Gi' } }, { ephemeralStorageGiB: 21 }],
    [{ limits: { 'ephemeral-storage': '100G' } }, { ephemeralStorageGiB: 94 }],
  ] as [Resources | undefined, object][])('sizes %j as %j', (resources, size) => {
    expect(fargateSize(resources)).toEqual(size);
  });

  it.each([
    [{ limits: { memory: '121Gi' } }, 'spec.resources: 0 vCPU and 121 GiB exceed the largest Fargate task (16 vCPU, 120 GiB)'],
    [{ limits: { 'ephemeral-storage': '201Gi' } }, "spec.resources: ephemeral-storage of 201 GiB exceeds Fargate's 200 GiB"],
  ] as [Resources, string][])('refuses %j', (resources, message) => {
    expect(() => fargateSize(resources)).toThrow(new ConfigError(message));
  });

  it.each([
    ['500m', 0.5],
    ['2Gi', 2 ** 31],
    ['1.5G', 1.5e9],
    [3, 3],
  ])('parses the quantity %s', (q, n) => expect(parseQuantity(q)).toBe(n));
});

