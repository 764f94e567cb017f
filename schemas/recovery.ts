/**
 * Stash's `Recovery` object (`stash.appscode.com/v1alpha1`), in every shape Stash 0.6 to 0.8
 * read, and its status. A Recovery restores the fileGroups of one of our `Restic` specs
 * ({@link recoverySpecName} says which) from a snapshot (default: the latest), the paths
 * given (default: every fileGroup), into `recoveredVolumes`: `efs` on AWS, `hostPath` on one
 * machine, written in any release's `LocalSpec` shape.
 *
 * - Stash 0.6: `backend`, `workload {kind, name}`, `podOrdinal` (a string), `nodeName`,
 *   `paths`, `recoveredVolumes`.
 * - Stash 0.7 and 0.8: `repository {name, namespace}`, `snapshot`, `paths`,
 *   `recoveredVolumes`, `imagePullSecrets`, and from 0.8 `nodeSelector`.
 * - `restic`, the Restic's name: Stash's 0.6 docs showed it though no release had it; here it
 *   is the plain way to name the spec, and the one `stash restore --remote` writes.
 *
 * What only a Kubernetes cluster needs (pods, nodes, image pull secrets) is accepted and
 * ignored with a warning (core/recovery.ts), so a Recovery copied from a cluster parses as is.
 *
 * @example
 * apiVersion: stash.appscode.com/v1alpha1
 * kind: Recovery
 * metadata: { name: s3-restic-recovery }
 * spec:
 *   restic: s3-restic
 *   paths: [/source/data]
 *   recoveredVolumes:
 *   - mountPath: /source/data
 *     efs: { fileSystemId: fs-0123abcd, rootDirectory: /restored }
 */
import * as z from './zod';
import { AbsolutePathSchema, API_VERSION, BackendSchema, Dns1123LabelSchema, INLINE_VOLUME_SHAPE, inlineVolumeCheck, ObjectMetaSchema } from './restic';

/** The `kind` of a Recovery document. */
export const RECOVERY_KIND = 'Recovery';

/** A restic snapshot id, whole or shortened (Stash 0.7 named snapshots by the first 8 hex digits). */
const SNAPSHOT_ID = /^[0-9a-f]{4,64}$/;

/** Kubernetes workload kinds Stash 0.7 used as repository name prefixes (`deployment.app`). */
const WORKLOAD_PREFIX = /^(deployment|replicaset|replicationcontroller|statefulset|daemonset)\./;

/**
 * One volume a restore writes into, mounted at `mountPath` in the restore task: Stash's
 * `LocalSpec`, as `backend.local` from 0.6 on. `name` was never part of it, though Stash's
 * 0.7 MinIO guide wrote one; it is accepted, with a warning.
 */
export const RecoveredVolumeSchema = z.strictObject({ ...INLINE_VOLUME_SHAPE, name: z.optional(z.string()) }).check(inlineVolumeCheck);
export type RecoveredVolume = z.infer<typeof RecoveredVolumeSchema>;

/** A Kubernetes `ObjectReference`, as Stash 0.7's `spec.repository`. */
const ObjectReferenceSchema = z.strictObject({
  name: z.string().check(z.minLength(1, { error: 'must not be empty' })),
  namespace: z.optional(z.string()),
  kind: z.optional(z.string()),
  uid: z.optional(z.string()),
  apiVersion: z.optional(z.string()),
  resourceVersion: z.optional(z.string()),
  fieldPath: z.optional(z.string()),
});

/** Stash 0.6's `spec.workload` (a `LocalTypedReference`). */
const WorkloadSchema = z.strictObject({
  kind: z.string(),
  name: z.string().check(z.minLength(1, { error: 'must not be empty' })),
  apiVersion: z.optional(z.string()),
});

/** A Recovery's `spec`: which Restic spec, which snapshot and paths, and where to restore. */
export const RecoverySpecSchema = z
  .strictObject({
    /** The Restic's name (this project's way, also in Stash 0.6's docs). */
    restic: z.optional(Dns1123LabelSchema),
    /** Stash 0.7: the Repository, named after the workload (`deployment.<name>`) or the Restic. */
    repository: z.optional(ObjectReferenceSchema),
    /** Stash 0.6: the workload whose backup to restore; its name names the Restic. */
    workload: z.optional(WorkloadSchema),
    /** `latest` (the default), a restic snapshot id, or Stash 0.7's `<repository.name>-<id>`. */
    snapshot: z.optional(z.string().check(z.minLength(1, { error: 'must not be empty' }))),
    /** fileGroup paths to restore; default all of them. */
    paths: z.optional(z.array(AbsolutePathSchema)),
    recoveredVolumes: z.array(RecoveredVolumeSchema).check(z.minLength(1, { error: 'must have at least one volume to restore into' })),
    /** Stash 0.6: must be the repository of the Restic named. */
    backend: z.optional(BackendSchema),
    /** Stash 0.6, a string (`"0"`), as its decoder required. */
    podOrdinal: z.optional(z.string()),
    nodeName: z.optional(z.string()),
    imagePullSecrets: z.optional(z.array(z.strictObject({ name: z.optional(z.string()) }))),
    /** Stash 0.8. */
    nodeSelector: z.optional(z.record(z.string(), z.string())),
  })
  .check(
    z.superRefine(
      (spec, ctx) => {
        const named = [
          ['restic', spec.restic],
          ['repository.name', spec.repository && workloadName(spec.repository.name)],
          ['workload.name', spec.workload?.name],
        ].filter((n): n is [string, string] => n[1] !== undefined);
        if (named.length === 0) {
          ctx.addIssue({
            code: 'custom',
            path: ['restic'],
            message: "Required: the Restic spec to restore from (or Stash 0.7's repository.name, or Stash 0.6's workload.name)",
          });
        }
        const [first, ...rest] = named;
        for (const [field, name] of rest) {
          if (name !== first[1]) ctx.addIssue({ code: 'custom', path: field.split('.'), message: `names Restic "${name}", but ${first[0]} names "${first[1]}"` });
        }
        const { snapshot, repository } = spec;
        if (snapshot !== undefined && snapshot !== 'latest' && !SNAPSHOT_ID.test(snapshot)) {
          const stash = repository && snapshot.startsWith(`${repository.name}-`) && SNAPSHOT_ID.test(snapshot.slice(repository.name.length + 1));
          if (!stash) {
            ctx.addIssue({
              code: 'custom',
              path: ['snapshot'],
              message: `must be latest, a restic snapshot id${repository ? `, or ${repository.name}-<id> as Stash 0.7 named it` : ''}`,
            });
          }
        }
      },
      { when: (payload) => typeof payload.value === 'object' && payload.value !== null },
    ),
  );
export type RecoverySpec = z.infer<typeof RecoverySpecSchema>;

/** A whole `Recovery` document. */
export const RecoverySchema = z.strictObject({
  apiVersion: z.literal(API_VERSION, { error: `must be ${API_VERSION}` }),
  kind: z.literal(RECOVERY_KIND, { error: `must be ${RECOVERY_KIND}` }),
  metadata: ObjectMetaSchema,
  spec: RecoverySpecSchema,
  /** What a Kubernetes controller wrote; ignored (ours lives next to the spec statuses). */
  status: z.optional(z.unknown()),
});
export type Recovery = z.infer<typeof RecoverySchema>;

/**
 * The workload a Stash 0.7 Repository name stands for: `deployment.app`, `replicaset.app`,
 * `replicationcontroller.app` give `app`; `daemonset.app.<node>` gives `app`;
 * `statefulset.app-<ordinal>` (one repository per pod) gives `app`. A name without a workload
 * prefix is a Restic's name as it is.
 */
function workloadName(repository: string): string {
  const kind = WORKLOAD_PREFIX.exec(repository)?.[1];
  const rest = kind ? repository.slice(kind.length + 1) : repository;
  if (kind === 'daemonset') return rest.split('.')[0];
  if (kind === 'statefulset') return rest.replace(/-\d+$/, '');
  return rest;
}

/**
 * The Restic spec a Recovery restores from, by the first of: `spec.restic`; Stash 0.7's
 * `spec.repository.name` as the workload it stands for (`deployment.stash-demo` ->
 * `stash-demo`); Stash 0.6's `spec.workload.name`. A Restic here has no workload, so a
 * workload's name must be the name of its Restic spec (or name the spec with `restic`).
 */
export function recoverySpecName(recovery: Recovery): string {
  const { restic, repository, workload } = recovery.spec;
  return restic ?? (repository ? workloadName(repository.name) : workload!.name);
}

/** The snapshot a Recovery restores: `latest`, or the id with Stash 0.7's `<repository>-` prefix dropped. */
export function recoverySnapshot(recovery: Recovery): string {
  const snapshot = recovery.spec.snapshot;
  if (!snapshot || snapshot === 'latest') return 'latest';
  const repo = recovery.spec.repository?.name ?? recovery.spec.restic;
  return repo && snapshot.startsWith(`${repo}-`) ? snapshot.slice(repo.length + 1) : snapshot;
}

/** Stash's Recovery phases. */
export const RECOVERY_PHASES = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'] as const;
/** A Recovery's phase. */
export const RecoveryPhaseSchema = z.enum(RECOVERY_PHASES);
export type RecoveryPhase = z.infer<typeof RecoveryPhaseSchema>;

/** Per path, as Stash's `RestoreStats`. */
export const RestoreStatsSchema = z.object({
  path: z.string(),
  phase: RecoveryPhaseSchema,
  /** Go duration string (`1.575s`). */
  duration: z.optional(z.string()),
});
export type RestoreStats = z.infer<typeof RestoreStatsSchema>;

/** `status/recoveries/<name>.json`: where a Recovery is, and why it failed. */
export const RecoveryStatusSchema = z.object({
  name: z.string(),
  phase: RecoveryPhaseSchema,
  /** The Recovery document this status is about (key and store version). */
  source: z.optional(z.string()),
  version: z.optional(z.string()),
  /** The Restic spec restored from. */
  spec: z.optional(z.string()),
  run: z.optional(z.string()),
  taskArn: z.optional(z.string()),
  startedAt: z.optional(z.string()),
  finishedAt: z.optional(z.string()),
  stats: z._default(z.array(RestoreStatsSchema), []),
  /** Validation problems (`FILE: field.path: message`) or why the restore failed. */
  errors: z._default(z.array(z.string()), []),
  updatedAt: z.string(),
});
export type RecoveryStatus = z.infer<typeof RecoveryStatusSchema>;
