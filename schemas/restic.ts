/**
 * Stash's `Restic` object (`stash.appscode.com/v1alpha1`), accepted as users wrote it for
 * Kubernetes, including what `kubectl get -o yaml` adds to `metadata`. Unknown fields are
 * errors, so a typo such as `filegroups` never passes silently.
 *
 * Our extensions, all optional: `spec.volumes[]` (where `volumeMounts` and
 * `backend.local.volumeSource` point on AWS or on one machine), `spec.startWindow` and
 * `spec.check`.
 *
 * Only shapes live here; what needs more than the document itself (schedules, volume
 * references, unique names) is checked in `lambda/core/spec.ts`.
 */
import * as z from './zod';

export const API_VERSION = 'stash.appscode.com/v1alpha1';
export const KIND = 'Restic';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A Kubernetes object name: DNS-1123 label, at most 63 characters. */
export const Dns1123LabelSchema = z
  .string()
  .max(63, { error: 'must be at most 63 characters (a DNS-1123 label)' })
  .regex(DNS1123_LABEL, {
    error: 'must be a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit',
  });

/** A Kubernetes Secret name: DNS-1123 subdomain, at most 253 characters. */
export const Dns1123SubdomainSchema = z
  .string()
  .max(253, { error: 'must be at most 253 characters (a DNS-1123 subdomain)' })
  .regex(DNS1123_SUBDOMAIN, {
    error: 'must be a DNS-1123 subdomain: lowercase letters, digits, "-" and ".", starting and ending with a letter or digit',
  });

/** An absolute POSIX path with no `..` segment. */
export const AbsolutePathSchema = z
  .string()
  .min(1, { error: 'must not be empty', abort: true })
  .refine((p) => p.startsWith('/'), { error: 'must be absolute' })
  .refine((p) => !p.split('/').includes('..'), { error: 'must not contain ".."' })
  .refine((p) => !p.includes('\0'), { error: 'must not contain a NUL character' });

/** A path inside a volume (`subPath`, a repository prefix): relative, no `..`. */
const RelativePathSchema = z
  .string()
  .refine((p) => !p.startsWith('/'), { error: 'must be relative' })
  .refine((p) => !p.split('/').includes('..'), { error: 'must not contain ".."' })
  .refine((p) => !p.includes('\0'), { error: 'must not contain a NUL character' });

/** A prefix inside a bucket or container; leading and trailing slashes are ignored. */
const PrefixSchema = z
  .string()
  .refine((p) => !p.split('/').includes('..'), { error: 'must not contain ".."' })
  .refine((p) => !p.includes('\0'), { error: 'must not contain a NUL character' })
  .optional();

const TagSchema = z
  .string()
  .min(1, { error: 'must not be empty' })
  .refine((t) => !t.includes(','), { error: 'must not contain "," (restic splits tags on commas)' });

const CountSchema = z.int({ error: 'must be a non-negative integer' }).nonnegative({ error: 'must be a non-negative integer' });

/** restic's `forget` policy for one fileGroup, as Stash named it. */
export const RetentionPolicySchema = z.strictObject({
  keepLast: CountSchema.optional(),
  keepHourly: CountSchema.optional(),
  keepDaily: CountSchema.optional(),
  keepWeekly: CountSchema.optional(),
  keepMonthly: CountSchema.optional(),
  keepYearly: CountSchema.optional(),
  keepTags: z.array(TagSchema).optional(),
  prune: z.boolean().optional(),
  dryRun: z.boolean().optional(),
});
export type RetentionPolicy = z.infer<typeof RetentionPolicySchema>;

/** One path backed up as one restic snapshot. */
export const FileGroupSchema = z.strictObject({
  path: AbsolutePathSchema,
  tags: z.array(TagSchema).optional(),
  retentionPolicy: RetentionPolicySchema.optional(),
});
export type FileGroup = z.infer<typeof FileGroupSchema>;

// ---- volumes (our extension) ------------------------------------------------------------

const HostPathSchema = z.strictObject({
  path: AbsolutePathSchema,
  type: z.string().optional(),
});

const EfsSchema = z.strictObject({
  fileSystemId: z.string().regex(/^fs-[0-9a-f]{8,40}$/, { error: 'must be an EFS file system id (fs-0123abcd...)' }),
  rootDirectory: AbsolutePathSchema.optional(),
  accessPointId: z
    .string()
    .regex(/^fsap-[0-9a-f]{8,40}$/, { error: 'must be an EFS access point id (fsap-0123abcd...)' })
    .optional(),
});

const EmptyDirSchema = z.strictObject({
  medium: z.string().optional(),
  sizeLimit: z.union([z.string(), z.number()]).optional(),
});

export const VOLUME_SOURCE_KINDS = ['hostPath', 'efs', 'emptyDir'] as const;
export type VolumeSourceKind = (typeof VOLUME_SOURCE_KINDS)[number];

const volumeSourceShape = {
  hostPath: HostPathSchema.optional(),
  efs: EfsSchema.optional(),
  emptyDir: EmptyDirSchema.optional(),
};

const unknownVolumeSource = (iss: { code?: string; keys?: string[] }) =>
  iss.code === 'unrecognized_keys'
    ? `unsupported volume source ${iss.keys?.map((k) => `"${k}"`).join(', ')}: use one of ${VOLUME_SOURCE_KINDS.join(', ')}`
    : undefined;

/**
 * "Exactly one of" as a refinement that runs even when a member itself has errors, so a
 * spec with two backends hears about both problems at once.
 */
function exactlyOne<T extends z.ZodType>(schema: T, kinds: readonly string[]) {
  const setKinds = (value: unknown) =>
    value && typeof value === 'object' ? kinds.filter((k) => (value as Record<string, unknown>)[k] !== undefined) : [];
  return schema.refine((value) => setKinds(value).length === 1, {
    when: (payload) => typeof payload.value === 'object' && payload.value !== null,
    error: (iss) => {
      const set = setKinds(iss.input);
      return set.length === 0
        ? `exactly one of ${kinds.join(', ')} must be set`
        : `exactly one of ${kinds.join(', ')} must be set, found ${set.join(' and ')}`;
    },
  });
}

/** Where a volume comes from: one of `hostPath` (one machine), `efs` (AWS), `emptyDir`. */
export const VolumeSourceSchema = exactlyOne(
  z.strictObject(volumeSourceShape, { error: unknownVolumeSource }),
  VOLUME_SOURCE_KINDS,
);
export type VolumeSource = z.infer<typeof VolumeSourceSchema>;

/** A named volume that `volumeMounts` refer to (our extension of the Stash spec). */
export const VolumeSchema = exactlyOne(
  z.strictObject({ name: Dns1123LabelSchema, ...volumeSourceShape }, { error: unknownVolumeSource }),
  VOLUME_SOURCE_KINDS,
);
export type Volume = z.infer<typeof VolumeSchema>;

export const VolumeMountSchema = z.strictObject({
  mountPath: AbsolutePathSchema,
  name: Dns1123LabelSchema,
  subPath: RelativePathSchema.optional(),
  readOnly: z.boolean().optional(),
  mountPropagation: z.string().optional(),
});
export type VolumeMount = z.infer<typeof VolumeMountSchema>;

// ---- backends ---------------------------------------------------------------------------

/** S3 bucket naming rules (3-63, lowercase, digits, dots, hyphens; not an IP address). */
export const S3BucketSchema = z
  .string()
  .min(3, { error: 'must be 3 to 63 characters (S3 bucket naming rules)' })
  .max(63, { error: 'must be 3 to 63 characters (S3 bucket naming rules)' })
  .regex(/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/, {
    error: 'must use lowercase letters, digits, "." and "-", starting and ending with a letter or digit (S3 bucket naming rules)',
  })
  .refine((b) => !b.includes('..'), { error: 'must not contain ".." (S3 bucket naming rules)' })
  .refine((b) => !/^\d+\.\d+\.\d+\.\d+$/.test(b), { error: 'must not be an IP address (S3 bucket naming rules)' });

/** Google Cloud Storage bucket naming rules. */
export const GcsBucketSchema = z
  .string()
  .min(3, { error: 'must be 3 to 63 characters (GCS bucket naming rules)' })
  .max(222, { error: 'must be at most 222 characters (GCS bucket naming rules)' })
  .regex(/^[a-z0-9][a-z0-9._-]*[a-z0-9]$/, {
    error: 'must use lowercase letters, digits, "-", "_" and ".", starting and ending with a letter or digit (GCS bucket naming rules)',
  })
  .refine((b) => b.split('.').every((part) => part.length <= 63) && (b.includes('.') || b.length <= 63), {
    error: 'must be 3 to 63 characters, or dot-separated parts of at most 63 (GCS bucket naming rules)',
  })
  .refine((b) => !b.startsWith('goog'), { error: 'must not start with "goog" (GCS bucket naming rules)' });

/** Azure Blob container naming rules. */
export const AzureContainerSchema = z
  .string()
  .min(3, { error: 'must be 3 to 63 characters (Azure container naming rules)' })
  .max(63, { error: 'must be 3 to 63 characters (Azure container naming rules)' })
  .regex(/^[a-z0-9]([a-z0-9]|-(?!-))*[a-z0-9]$/, {
    error: 'must use lowercase letters, digits and single "-", starting and ending with a letter or digit (Azure container naming rules)',
  });

/** OpenStack Swift container naming rules (1-256 bytes, no "/"). */
export const SwiftContainerSchema = z
  .string()
  .min(1, { error: 'must not be empty' })
  .refine((c) => Buffer.byteLength(c) <= 256, { error: 'must be at most 256 bytes (Swift container naming rules)' })
  .refine((c) => !c.includes('/'), { error: 'must not contain "/" (Swift container naming rules)' });

/** Backblaze B2 bucket naming rules (6-50, letters, digits, "-"; not starting with "b2-"). */
export const B2BucketSchema = z
  .string()
  .min(6, { error: 'must be 6 to 50 characters (B2 bucket naming rules)' })
  .max(50, { error: 'must be 6 to 50 characters (B2 bucket naming rules)' })
  .regex(/^[A-Za-z0-9-]+$/, { error: 'must use only letters, digits and "-" (B2 bucket naming rules)' })
  .refine((b) => !b.toLowerCase().startsWith('b2-'), { error: 'must not start with "b2-" (B2 bucket naming rules)' });

/** True for a URL that carries credentials (`https://user:pass@host`): those belong in the secret. */
function hasUserInfo(text: string): boolean {
  if (!URL.canParse(text)) return false;
  const url = new URL(text);
  return url.username !== '' || url.password !== '';
}

const HttpUrlSchema = z
  .string()
  .refine(
    (u) => {
      try {
        const url = new URL(u);
        return url.protocol === 'http:' || url.protocol === 'https:';
      } catch {
        return false;
      }
    },
    { error: 'must be an http:// or https:// URL' },
  )
  .refine((u) => !hasUserInfo(u), {
    error: 'must not contain a user name or password: put them in the secret as RESTIC_REST_USERNAME and RESTIC_REST_PASSWORD',
  });

/** `s3.endpoint`: a host (`s3.amazonaws.com`, https is implied) or an `http(s)://` URL. */
const S3EndpointSchema = z
  .string()
  .min(1, { error: 'must not be empty', abort: true })
  .refine(
    (e) => {
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(e)) {
        try {
          const url = new URL(e);
          return (url.protocol === 'http:' || url.protocol === 'https:') && url.pathname.replace(/\/+$/, '') === '';
        } catch {
          return false;
        }
      }
      return /^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(e);
    },
    { error: 'must be a host[:port] (https is implied) or an http:// or https:// URL without a path' },
  )
  .refine((e) => !hasUserInfo(e), {
    error: 'must not contain a user name or password: the keys belong in the secret (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)',
  });

export const LocalBackendSchema = z.strictObject({
  path: AbsolutePathSchema,
  volumeSource: VolumeSourceSchema,
});
export const S3BackendSchema = z.strictObject({ endpoint: S3EndpointSchema, bucket: S3BucketSchema, prefix: PrefixSchema });
export const GcsBackendSchema = z.strictObject({ bucket: GcsBucketSchema, prefix: PrefixSchema });
export const AzureBackendSchema = z.strictObject({ container: AzureContainerSchema, prefix: PrefixSchema });
export const SwiftBackendSchema = z.strictObject({ container: SwiftContainerSchema, prefix: PrefixSchema });
export const B2BackendSchema = z.strictObject({ bucket: B2BucketSchema, prefix: PrefixSchema });
export const RestBackendSchema = z.strictObject({ url: HttpUrlSchema });

export const BACKEND_KINDS = ['local', 's3', 'gcs', 'azure', 'swift', 'b2', 'rest'] as const;
export type BackendKind = (typeof BACKEND_KINDS)[number];

export const BackendSchema = exactlyOne(
  z.strictObject({
    storageSecretName: Dns1123SubdomainSchema,
    local: LocalBackendSchema.optional(),
    s3: S3BackendSchema.optional(),
    gcs: GcsBackendSchema.optional(),
    azure: AzureBackendSchema.optional(),
    swift: SwiftBackendSchema.optional(),
    b2: B2BackendSchema.optional(),
    rest: RestBackendSchema.optional(),
  }),
  BACKEND_KINDS,
);
export type Backend = z.infer<typeof BackendSchema>;

/** The backend kind a (valid) backend uses. */
export function backendKind(backend: Backend): BackendKind {
  const kind = BACKEND_KINDS.find((k) => backend[k] !== undefined);
  if (!kind) throw new Error('backend has no kind (the spec was not validated)');
  return kind;
}

// ---- resources, checks, the spec ----------------------------------------------------------

const QuantitySchema = z.union([
  z.number().positive({ error: 'must be positive' }),
  z.string().regex(/^\d+(\.\d+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/, {
    error: 'must be a Kubernetes quantity such as 500m, 1, 512Mi or 2Gi',
  }),
]);

const ResourceListSchema = z.strictObject({
  cpu: QuantitySchema.optional(),
  memory: QuantitySchema.optional(),
  'ephemeral-storage': QuantitySchema.optional(),
});

/** Kubernetes `ResourceRequirements`; on AWS it chooses the Fargate task size. */
export const ResourcesSchema = z.strictObject({
  limits: ResourceListSchema.optional(),
  requests: ResourceListSchema.optional(),
});
export type Resources = z.infer<typeof ResourcesSchema>;

/** `restic check` on a schedule of its own (our extension). */
export const CheckPolicySchema = z.strictObject({
  /** Cron expression or `@every`; default `@every 72h` (every 3 days, as Stash did). */
  schedule: z.string().optional(),
  /** Passed as `--read-data-subset`: `n/t`, a percentage such as `10%`, or a size such as `500M`. */
  readDataSubset: z
    .string()
    .regex(/^(\d+\/\d+|\d+(\.\d+)?%|\d+(\.\d+)?[KMGT]?)$/, { error: 'must be n/t, a percentage such as 10%, or a size such as 500M' })
    .optional(),
  /** No scheduled checks for this spec. */
  paused: z.boolean().optional(),
});
export type CheckPolicy = z.infer<typeof CheckPolicySchema>;

const LabelSelectorRequirementSchema = z.looseObject({});

export const ResticSpecSchema = z.strictObject({
  selector: z
    .strictObject({
      matchLabels: z.record(z.string(), z.string()).optional(),
      matchExpressions: z.array(LabelSelectorRequirementSchema).optional(),
    })
    .optional(),
  fileGroups: z.array(FileGroupSchema).min(1, { error: 'must have at least one fileGroup' }),
  backend: BackendSchema,
  schedule: z.string(),
  volumeMounts: z.array(VolumeMountSchema).optional(),
  resources: ResourcesSchema.optional(),
  paused: z.boolean().optional(),
  useAutoPrefix: z.string().optional(),
  volumes: z.array(VolumeSchema).optional(),
  /** Go duration; a slot not started within it is recorded as missed (default `1h`). */
  startWindow: z.string().optional(),
  check: CheckPolicySchema.optional(),
});
export type ResticSpec = z.infer<typeof ResticSpecSchema>;

/** The metadata fields Kubernetes may put on any object; all but `name` are ignored. */
export const ObjectMetaSchema = z.strictObject({
  name: Dns1123LabelSchema,
  namespace: z.string().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  generation: z.number().optional(),
  selfLink: z.string().optional(),
  creationTimestamp: z.union([z.string(), z.date()]).optional(),
  deletionTimestamp: z.union([z.string(), z.date()]).optional(),
  deletionGracePeriodSeconds: z.number().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  generateName: z.string().optional(),
  finalizers: z.array(z.string()).optional(),
  ownerReferences: z.array(z.looseObject({})).optional(),
  managedFields: z.array(z.looseObject({})).optional(),
  clusterName: z.string().optional(),
});

/** A whole `Restic` document. */
export const ResticSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION, { error: `must be ${API_VERSION}` }),
  kind: z.literal(KIND, { error: `must be ${KIND}` }),
  metadata: ObjectMetaSchema,
  spec: ResticSpecSchema,
  /** What the Kubernetes controller wrote; ignored. */
  status: z.unknown().optional(),
});
export type Restic = z.infer<typeof ResticSchema>;
