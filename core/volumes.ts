/**
 * Where a spec's paths are on the machine that runs it. A fileGroup path or the local
 * backend's path lives inside a volume mount (`spec.volumeMounts` naming `spec.volumes`):
 *
 * - on AWS, the task definition mounts each volume at its `mountPath`, so paths stay as written;
 * - locally, a `hostPath` volume maps the mount to a folder of this machine and an `emptyDir`
 *   to a folder under the state directory; `efs` cannot be used.
 *
 * A path that no mount covers is used as it is.
 */
import { posix } from 'node:path';
import { mountedVolume, unsupportedVolumeSource, type Restic, type Volume, type VolumeSource } from '../schemas/restic';
import { ConfigError } from './errors';
import { isUnder } from './spec';

/** Which machine the paths are resolved for. */
export type VolumeMode = { readonly kind: 'aws' } | { readonly kind: 'local'; readonly stateDir: string };

function sourceKind(v: VolumeSource | Volume): 'hostPath' | 'efs' | 'emptyDir' {
  if (v.hostPath) return 'hostPath';
  if (v.efs) return 'efs';
  return 'emptyDir';
}

/** The folder a volume source stands for in local mode. */
function localRoot(spec: Restic, name: string, v: VolumeSource | Volume, mode: { stateDir: string }, where: string): string {
  switch (sourceKind(v)) {
    case 'hostPath':
      return v.hostPath!.path;
    case 'emptyDir':
      return posix.join(mode.stateDir, 'volumes', spec.metadata.name, name);
    default:
      throw new ConfigError(`${where}: efs volume "${name}" can only be used on AWS; use hostPath in local mode`);
  }
}

/**
 * The path on this machine for an absolute path in the spec (a fileGroup path).
 * Throws ConfigError naming the volume when a mount refers to a volume that is not defined.
 */
export function resolvePath(spec: Restic, path: string, mode: VolumeMode): string {
  return clean(mountedPath(spec, path, mode));
}

/**
 * `/data/` and `/data/./x/..` as `/data`: the path restic records for a snapshot. `restic forget
 * --path` matches it exactly, so a trailing slash would keep retention from ever applying.
 */
const clean = (path: string) => {
  const normal = posix.normalize(path);
  return normal.length > 1 ? normal.replace(/\/+$/, '') : normal;
};

function mountedPath(spec: Restic, path: string, mode: VolumeMode): string {
  const mounts = spec.spec.volumeMounts ?? [];
  let best = -1;
  mounts.forEach((m, i) => {
    if (isUnder(path, m.mountPath) && (best < 0 || m.mountPath.length > mounts[best].mountPath.length)) best = i;
  });
  if (best < 0) return path;
  const mount = mounts[best];
  const volume = (spec.spec.volumes ?? []).find((v) => v.name === mount.name);
  if (!volume) {
    throw new ConfigError(
      `spec.volumeMounts[${best}]: volume "${mount.name}" is not defined in spec.volumes (add it with hostPath for local mode or efs for AWS)`,
    );
  }
  if (mode.kind === 'aws') {
    if (volume.hostPath) throw new ConfigError(`spec.volumes: hostPath volume "${volume.name}" can only be used in local mode; use efs on AWS`);
    return path;
  }
  const root = localRoot(spec, volume.name, volume, mode, 'spec.volumes');
  const rel = posix.relative(mount.mountPath, path);
  return posix.join(root, mount.subPath ?? '', rel);
}

/**
 * The repository folder of a `local` backend on this machine, whatever release's shape it is
 * written in ({@link mountedVolume}): on AWS its mount path (the task mounts the volume there,
 * `subPath` being the volume's root); locally the `hostPath` folder (and `subPath` in it) or
 * an `emptyDir` under the state directory. A Kubernetes volume source that cannot exist here
 * (`nfs`, `persistentVolumeClaim`, ...) fails, naming it and what to write instead.
 */
export function resolveLocalRepository(spec: Restic, mode: VolumeMode): string {
  const local = spec.spec.backend.local;
  if (!local) throw new ConfigError('spec.backend.local: not a local backend');
  const volume = mountedVolume(local);
  const where = `spec.backend.local.${volume.field}`;
  if (!volume.source) throw new ConfigError(`${where}: ${unsupportedVolumeSource(volume.kind)}`);
  if (mode.kind === 'aws') {
    if (volume.source.hostPath) throw new ConfigError(`${where}: hostPath can only be used in local mode; use efs on AWS`);
    return volume.mountPath;
  }
  return posix.join(localRoot(spec, 'repository', volume.source, mode, where), volume.subPath ?? '');
}
