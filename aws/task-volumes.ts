/**
 * The volumes a run's task needs, in ECS terms. RunTask cannot override volumes, so the
 * launcher registers a task definition revision per distinct set (see `task-definitions.ts`);
 * this computes the set, pure, so equal sets hash equal.
 *
 * - backup: each `spec.volumeMounts` entry (read-only unless it says otherwise) and a `local`
 *   backend's repository;
 * - check: the repository only;
 * - restore: the Recovery's `recoveredVolumes` (writable) and the repository.
 *
 * `backend.local` and `recoveredVolumes` are read in any Stash release's shape; a `subPath`
 * there, as on a mount, becomes the EFS volume's root directory. A Kubernetes volume source
 * that cannot exist on AWS (`nfs`, `persistentVolumeClaim`, ...) fails the launch, naming it.
 *
 * On AWS a volume is `efs` (from the stack's allowed file systems) or `emptyDir` (the task's
 * own storage); `hostPath` is for local mode only. A `subPath` on EFS becomes the volume's
 * root directory.
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { MountPoint, Volume } from '@aws-sdk/client-ecs';
import { mountedVolume, unsupportedVolumeSource, type Restic, type VolumeSource } from '../schemas/restic';
import type { RecoveredVolume } from '../schemas/recovery';
import { ConfigError } from '../core/errors';
import type { RunKind } from '../schemas/status';

/** Volumes and the runner container's mount points. */
export interface TaskVolumes {
  readonly volumes: Volume[];
  readonly mountPoints: MountPoint[];
}

/** What decides a task's volumes. */
export interface VolumeRequest {
  readonly spec: Restic;
  readonly kind: RunKind;
  readonly recoveredVolumes?: readonly RecoveredVolume[];
}

const shortHash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 8);

/**
 * The task volumes of a run. Throws ConfigError with the field path for what cannot run on
 * Fargate (hostPath, an EFS file system the stack does not allow, an undefined volume).
 */
export function taskVolumes(request: VolumeRequest, allowedEfsIds: readonly string[]): TaskVolumes {
  const { spec, kind } = request;
  const volumes = new Map<string, Volume>();
  const mountPoints: MountPoint[] = [];
  const add = (where: string, base: string, source: VolumeSource, mountPath: string, readOnly: boolean, subPath?: string) => {
    const volume = ecsVolume(where, base, source, allowedEfsIds, subPath);
    const existing = mountPoints.find((m) => m.containerPath === mountPath);
    if (existing) throw new ConfigError(`${where}: ${mountPath} is mounted twice`);
    volumes.set(volume.name!, volume);
    mountPoints.push({ sourceVolume: volume.name, containerPath: mountPath, readOnly });
  };

  if (kind === 'backup') {
    (spec.spec.volumeMounts ?? []).forEach((m, i) => {
      const where = `spec.volumeMounts[${i}]`;
      const volume = (spec.spec.volumes ?? []).find((v) => v.name === m.name);
      if (!volume) throw new ConfigError(`${where}.name: volume "${m.name}" is not defined in spec.volumes (add it with efs for AWS)`);
      add(where, m.name, volume, m.mountPath, m.readOnly ?? true, m.subPath);
    });
  }
  /** A volume written inline (Stash's `LocalSpec`, in any release's shape), mounted writable. */
  const addInline = (where: string, base: string, written: Parameters<typeof mountedVolume>[0]) => {
    const v = mountedVolume(written);
    if (!v.source) throw new ConfigError(`${where}.${v.field}: ${unsupportedVolumeSource(v.kind)}`);
    add(where, base, v.source, v.mountPath, false, v.subPath);
  };
  if (kind === 'restore') {
    (request.recoveredVolumes ?? []).forEach((v, i) => addInline(`spec.recoveredVolumes[${i}]`, `recovered-${i}`, v));
  }
  const local = spec.spec.backend.local;
  if (local) addInline('spec.backend.local', 'stash-repository', local);

  return {
    volumes: [...volumes.values()].sort((a, b) => (a.name! < b.name! ? -1 : 1)),
    mountPoints: mountPoints.sort((a, b) => (a.containerPath! < b.containerPath! ? -1 : 1)),
  };
}

function ecsVolume(where: string, base: string, source: VolumeSource, allowed: readonly string[], subPath?: string): Volume {
  if (source.hostPath) throw new ConfigError(`${where}: hostPath volumes can only be used in local mode; use efs on AWS`);
  if (source.efs) {
    const { fileSystemId, rootDirectory, accessPointId } = source.efs;
    if (!allowed.includes(fileSystemId)) {
      throw new ConfigError(
        `${where}: EFS file system ${fileSystemId} is not one the stack allows (${allowed.length ? allowed.join(', ') : 'none configured'}); add it to the stack's allowed EFS ids`,
      );
    }
    if (accessPointId && subPath) throw new ConfigError(`${where}.subPath: cannot be combined with an EFS access point; set the access point's root instead`);
    const root = subPath ? posix.join(rootDirectory ?? '/', subPath) : rootDirectory;
    const name = subPath ? `${base}-${shortHash(subPath)}` : base;
    return {
      name,
      efsVolumeConfiguration: {
        fileSystemId,
        ...(accessPointId ? {} : root && root !== '/' ? { rootDirectory: root } : {}),
        transitEncryption: 'ENABLED',
        authorizationConfig: { iam: 'ENABLED', ...(accessPointId ? { accessPointId } : {}) },
      },
    };
  }
  if (subPath) throw new ConfigError(`${where}.subPath: not supported for emptyDir on AWS`);
  return { name: base };
}
