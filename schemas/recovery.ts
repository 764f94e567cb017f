/**
 * Stash's `Recovery` object (`stash.appscode.com/v1alpha1`), as Stash 0.6 and 0.7 wrote it,
 * and its status. A Recovery names a `Restic` spec (0.6: `spec.restic`; 0.7:
 * `spec.repository.name`, where a `deployment.` style prefix is dropped), a snapshot
 * (default: the latest), the paths to restore (default: every fileGroup) and
 * `recoveredVolumes`: where the files go, as our volumes (`efs` on AWS, `hostPath` locally).
 *
 * Kubernetes-only fields (`workload`, `podOrdinal`, `nodeName`, `imagePullSecrets`) are
 * accepted and ignored, so a Recovery copied from a cluster parses as is.
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
import { AbsolutePathSchema, API_VERSION, Dns1123LabelSchema, ObjectMetaSchema, VolumeSourceSchema, VOLUME_SOURCE_KINDS } from './restic';

/** The `kind` of a Recovery document. */
export const RECOVERY_KIND = 'Recovery';

/** Kubernetes workload kinds Stash 0.7 used as repository name prefixes (`deployment.app`). */
const WORKLOAD_PREFIX = /^(deployment|replicaset|replicationcontroller|statefulset|daemonset)\./;

/** One volume a restore writes into, mounted at `mountPath` in the restore task. */
export const RecoveredVolumeSchema = z.strictObject({ mountPath: AbsolutePathSchema, ...VolumeSourceSchema.shape }).check(
  z.superRefine((v, ctx) => {
    const set = VOLUME_SOURCE_KINDS.filter((k) => v[k] !== undefined);
    if (set.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message:
          set.length === 0
            ? `exactly one of ${VOLUME_SOURCE_KINDS.join(', ')} must be set`
            : `exactly one of ${VOLUME_SOURCE_KINDS.join(', ')} must be set, found ${set.join(' and ')}`,
      });
    }
  }),
);
export type RecoveredVolume = z.infer<typeof RecoveredVolumeSchema>;

/** A Recovery's `spec`: which Restic spec, which snapshot and paths, and where to restore. */
export const RecoverySpecSchema = z
  .strictObject({
    /** Stash 0.6: the Restic's name. */
    restic: z.optional(Dns1123LabelSchema),
    /** Stash 0.7: the Repository, named after the workload (`deployment.<name>`) or the Restic. */
    repository: z.optional(
      z.strictObject({ name: z.string().check(z.minLength(1, { error: 'must not be empty' })), namespace: z.optional(z.string()) }),
    ),
    /** A snapshot id (or Stash 0.7's `<repository>-<id>`); default the latest one. */
    snapshot: z.optional(z.string().check(z.minLength(1, { error: 'must not be empty' }))),
    /** fileGroup paths to restore; default all of them. */
    paths: z.optional(z.array(AbsolutePathSchema)),
    recoveredVolumes: z.array(RecoveredVolumeSchema).check(z.minLength(1, { error: 'must have at least one volume to restore into' })),
    workload: z.optional(z.looseObject({})),
    podOrdinal: z.optional(z.string()),
    nodeName: z.optional(z.string()),
    imagePullSecrets: z.optional(z.array(z.looseObject({}))),
  })
  .check(
    z.superRefine((spec, ctx) => {
      if ((spec.restic === undefined) === (spec.repository === undefined)) {
        ctx.addIssue({ code: 'custom', path: ['restic'], message: 'exactly one of restic (the Restic spec name) or repository.name must be set' });
      }
    }),
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

/** The Restic spec a Recovery restores from. */
export function recoverySpecName(recovery: Recovery): string {
  return recovery.spec.restic ?? recovery.spec.repository!.name.replace(WORKLOAD_PREFIX, '');
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
