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
 * On AWS a volume is `efs` (from the stack's file systems) or `emptyDir` (the task's own
 * storage); `hostPath` is for local mode only. A `subPath` on EFS becomes the volume's root
 * directory. The stack names each file system in one role ({@link EfsFileSystems}):
 *
 * ```
 *                         sources (read-only)   repositories   restore targets
 * spec.volumeMounts       yes, never writable   yes            yes
 * backend.local           refused               yes            no
 * recoveredVolumes        refused               no             yes
 * ```
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

/** The stack's EFS file systems by role (its `efsSources`, `efsRepositories`, `efsRestoreTargets` settings). */
export interface EfsFileSystems {
  /** What specs back up: mounted read-only, never writable. */
  readonly sources: readonly string[];
  /** What may hold a `local` backend's repository. */
  readonly repositories: readonly string[];
  /** What a Recovery may restore into. */
  readonly restoreTargets: readonly string[];
}

/** No EFS file system at all. */
export const NO_EFS: EfsFileSystems = { sources: [], repositories: [], restoreTargets: [] };

/** What a volume is used for, which decides the file systems it may be on. */
type Use = 'mount' | 'repository' | 'restore';

/** What decides a task's volumes. */
export interface VolumeRequest {
  readonly spec: Restic;
  readonly kind: RunKind;
  readonly recoveredVolumes?: readonly RecoveredVolume[];
}

const shortHash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 8);

/**
 * The task volumes of a run. Throws ConfigError with the field path for what cannot run on
 * Fargate (hostPath, an EFS file system the stack does not have in that role, a source that
 * would be writable, an undefined volume).
 */
export function taskVolumes(request: VolumeRequest, efs: EfsFileSystems): TaskVolumes {
  const { spec, kind } = request;
  const volumes = new Map<string, Volume>();
  const mountPoints: MountPoint[] = [];
  const add = (where: string, base: string, source: VolumeSource, mountPath: string, readOnly: boolean, use: Use, subPath?: string) => {
    if (source.efs) checkRole(where, source.efs.fileSystemId, efs, use, readOnly);
    const volume = ecsVolume(where, base, source, subPath);
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
      add(where, m.name, volume, m.mountPath, m.readOnly ?? true, 'mount', m.subPath);
    });
  }
  /** A volume written inline (Stash's `LocalSpec`, in any release's shape), mounted writable. */
  const addInline = (where: string, base: string, written: Parameters<typeof mountedVolume>[0], use: Use) => {
    const v = mountedVolume(written);
    if (!v.source) throw new ConfigError(`${where}.${v.field}: ${unsupportedVolumeSource(v.kind)}`);
    add(where, base, v.source, v.mountPath, false, use, v.subPath);
  };
  if (kind === 'restore') {
    (request.recoveredVolumes ?? []).forEach((v, i) => addInline(`spec.recoveredVolumes[${i}]`, `recovered-${i}`, v, 'restore'));
  }
  const local = spec.spec.backend.local;
  if (local) addInline('spec.backend.local', 'stash-repository', local, 'repository');

  return {
    volumes: [...volumes.values()].sort((a, b) => (a.name! < b.name! ? -1 : 1)),
    mountPoints: mountPoints.sort((a, b) => (a.containerPath! < b.containerPath! ? -1 : 1)),
  };
}

const ROLE_SETTING: Record<Use, { key: keyof EfsFileSystems; setting: string; what: string }> = {
  mount: { key: 'sources', setting: 'efsSources', what: 'backup sources' },
  repository: { key: 'repositories', setting: 'efsRepositories', what: 'repository file systems' },
  restore: { key: 'restoreTargets', setting: 'efsRestoreTargets', what: 'restore targets' },
};

const listed = (ids: readonly string[]) => (ids.length ? ids.join(', ') : 'none configured');

/** Refuses a file system the stack does not have for `use`, and a source that would be writable. */
function checkRole(where: string, fileSystemId: string, efs: EfsFileSystems, use: Use, readOnly: boolean): void {
  const isSource = efs.sources.includes(fileSystemId);
  if (isSource && !readOnly) {
    const why = use === 'mount' ? 'remove readOnly: false' : `use a file system listed in ${ROLE_SETTING[use].setting}`;
    throw new ConfigError(`${where}: EFS file system ${fileSystemId} is a backup source (efsSources), which the stack never mounts writable; ${why}`);
  }
  if (use === 'mount') {
    if (isSource || efs.repositories.includes(fileSystemId) || efs.restoreTargets.includes(fileSystemId)) return;
    throw new ConfigError(`${where}: EFS file system ${fileSystemId} is not one of the stack's file systems (efsSources: ${listed(efs.sources)}); add it to efsSources`);
  }
  const { key, setting, what } = ROLE_SETTING[use];
  if (!efs[key].includes(fileSystemId)) {
    throw new ConfigError(`${where}: EFS file system ${fileSystemId} is not one of the stack's ${what} (${setting}: ${listed(efs[key])}); add it to ${setting}`);
  }
}

function ecsVolume(where: string, base: string, source: VolumeSource, subPath?: string): Volume {
  if (source.hostPath) throw new ConfigError(`${where}: hostPath volumes can only be used in local mode; use efs on AWS`);
  if (source.efs) {
    const { fileSystemId, rootDirectory, accessPointId } = source.efs;
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
