/**
 * A repository's identity: where it is (backend type, endpoint, bucket or container, prefix,
 * path), the same string for every spec that backs up to it. Runs of specs with one identity
 * share one repository and must not overlap: two `restic init` at once destroy a new
 * repository, and one run's `forget --prune` holds an exclusive lock another run trips over.
 *
 * @example
 * repositoryKey(spec, { kind: 'aws' }) // 's3:s3.amazonaws.com/stash-qa/db'
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { backendKind, mountedVolume, type Restic } from '../schemas/restic';
import { normaliseKeyPrefix } from '../schemas/secret';
import type { SpecStatus } from '../schemas/status';
import { resolveLocalRepository, type VolumeMode } from './volumes';

/** `/a//b/` and `a/b` alike: no leading, trailing or doubled slashes, no `.` segments. */
const path = normaliseKeyPrefix;

/** An endpoint or URL without its scheme's default port, userinfo or trailing slash, host in lower case. */
function endpoint(text: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`;
  try {
    const url = new URL(withScheme);
    return `${url.protocol}//${url.host.toLowerCase()}${url.pathname.replace(/\/+$/, '')}`;
  } catch {
    return text.replace(/\/+$/, '');
  }
}

/**
 * The identity of a spec's repository on the machine `mode` describes. A local repository is
 * its folder on this machine (so two volumes naming one folder are one repository), or on
 * AWS its EFS file system, access point and folder; an `emptyDir` one lives only as long as
 * its run and is the spec's alone.
 */
export function repositoryKey(spec: Restic, mode: VolumeMode): string {
  const { backend } = spec.spec;
  switch (backendKind(backend)) {
    case 'local': {
      if (mode.kind === 'local') return `local:${posix.resolve(resolveLocalRepository(spec, mode))}`;
      // Any Stash shape of backend.local; a subPath is a folder below the EFS root directory.
      const volume = mountedVolume(backend.local!);
      const efs = volume.source?.efs;
      if (efs) return `local:efs:${efs.fileSystemId}${efs.accessPointId ? `@${efs.accessPointId}` : ''}:/${path(posix.join(efs.rootDirectory ?? '', volume.subPath ?? ''))}`;
      if (volume.source?.emptyDir) return `local:emptyDir:${spec.metadata.name}`;
      return `local:${posix.resolve(volume.mountPath)}`;
    }
    case 's3':
      return `s3:${endpoint(backend.s3!.endpoint)}/${backend.s3!.bucket}/${path(backend.s3!.prefix)}`;
    case 'gcs':
      return `gs:${backend.gcs!.bucket}:/${path(backend.gcs!.prefix)}`;
    case 'azure':
      return `azure:${backend.azure!.container}:/${path(backend.azure!.prefix)}`;
    case 'swift':
      return `swift:${backend.swift!.container}:/${path(backend.swift!.prefix)}`;
    case 'b2':
      return `b2:${backend.b2!.bucket}:/${path(backend.b2!.prefix)}`;
    case 'rest':
      return `rest:${endpoint(backend.rest!.url)}`;
  }
}

/** A short, file-name-safe digest of a repository's identity (lock files are named by it). */
export function repositoryDigest(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 20);
}

/**
 * Every spec's repository identity, worked out once for a set of specs (a tick's, a folder's),
 * and the specs that share each repository, in the order given. A spec whose repository cannot
 * be resolved has none: it fails on its own when it runs.
 */
export class RepositoryIndex {
  private readonly keys = new Map<string, string | undefined>();
  private readonly sharing = new Map<string, Restic[]>();

  constructor(
    specs: readonly Restic[],
    private readonly mode: VolumeMode,
  ) {
    for (const s of specs) {
      const key = this.resolve(s);
      this.keys.set(s.metadata.name, key);
      const list = key ? this.sharing.get(key) : undefined;
      if (list) list.push(s);
      else if (key) this.sharing.set(key, [s]);
    }
  }

  /** The identity of `spec`'s repository, undefined when it cannot be resolved. */
  keyOf(spec: Restic): string | undefined {
    return this.keys.has(spec.metadata.name) ? this.keys.get(spec.metadata.name) : this.resolve(spec);
  }

  /**
   * Whether anything has backed up to `spec`'s repository before, as a phrase for the error a
   * backup gives when the repository is not there (`db backed up to it 12 times, last at ...`);
   * undefined when no spec sharing the repository has a backup. A repository with history is
   * never initialised again by a run: that takes a deliberate `--init`.
   */
  history(spec: Restic, statuses: ReadonlyMap<string, SpecStatus>): string | undefined {
    const key = this.keyOf(spec);
    if (!key) return undefined;
    const others = (this.sharing.get(key) ?? []).filter((s) => s.metadata.name !== spec.metadata.name);
    for (const s of [spec, ...others]) {
      const status = statuses.get(s.metadata.name);
      if (!status || (!status.backupCount && !status.lastSuccessfulBackupTime)) continue;
      const last = status.lastSuccessfulBackupTime ?? status.lastBackupTime;
      return `${s.metadata.name} backed up to it ${status.backupCount} time${status.backupCount === 1 ? '' : 's'}${last ? `, last at ${last}` : ''}`;
    }
    return undefined;
  }

  private resolve(spec: Restic): string | undefined {
    try {
      return repositoryKey(spec, this.mode);
    } catch {
      return undefined;
    }
  }
}

/** {@link RepositoryIndex.history} for one spec among `specs`. */
export function repositoryHistory(spec: Restic, specs: readonly Restic[], statuses: ReadonlyMap<string, SpecStatus>, mode: VolumeMode): string | undefined {
  return new RepositoryIndex(specs, mode).history(spec, statuses);
}
