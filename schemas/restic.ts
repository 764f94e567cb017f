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
 * references, unique names) is checked in `core/spec.ts`.
 */
import * as z from './zod';

export const API_VERSION = 'stash.appscode.com/v1alpha1';
export const KIND = 'Restic';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A Kubernetes object name: DNS-1123 label, at most 63 characters. */
export const Dns1123LabelSchema = z.string().check(
  z.maxLength(63, { error: 'must be at most 63 characters (a DNS-1123 label)' }),
  z.regex(DNS1123_LABEL, {
    error: 'must be a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit',
  }),
);

/** A Kubernetes Secret name: DNS-1123 subdomain, at most 253 characters. */
export const Dns1123SubdomainSchema = z.string().check(
  z.maxLength(253, { error: 'must be at most 253 characters (a DNS-1123 subdomain)' }),
  z.regex(DNS1123_SUBDOMAIN, {
    error: 'must be a DNS-1123 subdomain: lowercase letters, digits, "-" and ".", starting and ending with a letter or digit',
  }),
);

/** An absolute POSIX path with no `..` segment. */
export const AbsolutePathSchema = z.string().check(
  z.minLength(1, { error: 'must not be empty', abort: true }),
  z.refine((p) => p.startsWith('/'), { error: 'must be absolute' }),
  z.refine((p) => !p.split('/').includes('..'), { error: 'must not contain ".."' }),
  z.refine((p) => !p.includes('\0'), { error: 'must not contain a NUL character' }),
);

/** A path inside a volume (`subPath`, a repository prefix): relative, no `..`. */
const RelativePathSchema = z.string().check(
  z.refine((p) => !p.startsWith('/'), { error: 'must be relative' }),
  z.refine((p) => !p.split('/').includes('..'), { error: 'must not contain ".."' }),
  z.refine((p) => !p.includes('\0'), { error: 'must not contain a NUL character' }),
);

/** A prefix inside a bucket or container; leading and trailing slashes are ignored. */
const PrefixSchema = z.optional(
  z.string().check(
    z.refine((p) => !p.split('/').includes('..'), { error: 'must not contain ".."' }),
    z.refine((p) => !p.includes('\0'), { error: 'must not contain a NUL character' }),
  ),
);

const TagSchema = z.string().check(
  z.minLength(1, { error: 'must not be empty' }),
  z.refine((t) => !t.includes(','), { error: 'must not contain "," (restic splits tags on commas)' }),
);

const CountSchema = z.int({ error: 'must be a non-negative integer' }).check(z.nonnegative({ error: 'must be a non-negative integer' }));

/** restic's `forget` policy for one fileGroup, as Stash named it. */
export const RetentionPolicySchema = z.strictObject({
  keepLast: z.optional(CountSchema),
  keepHourly: z.optional(CountSchema),
  keepDaily: z.optional(CountSchema),
  keepWeekly: z.optional(CountSchema),
  keepMonthly: z.optional(CountSchema),
  keepYearly: z.optional(CountSchema),
  keepTags: z.optional(z.array(TagSchema)),
  prune: z.optional(z.boolean()),
  dryRun: z.optional(z.boolean()),
});
export type RetentionPolicy = z.infer<typeof RetentionPolicySchema>;

/** One path backed up as one restic snapshot. */
export const FileGroupSchema = z.strictObject({
  path: AbsolutePathSchema,
  tags: z.optional(z.array(TagSchema)),
  retentionPolicy: z.optional(RetentionPolicySchema),
});
export type FileGroup = z.infer<typeof FileGroupSchema>;

// ---- volumes (our extension) ------------------------------------------------------------

const HostPathSchema = z.strictObject({
  path: AbsolutePathSchema,
  type: z.optional(z.string()),
});

/** An EFS file system id, as specs, Recoveries and the stack's settings name one. */
export const isEfsId = (id: string): boolean => /^fs-[0-9a-f]{8,40}$/.test(id);

const EfsSchema = z.strictObject({
  fileSystemId: z.string().check(z.refine(isEfsId, { error: 'must be an EFS file system id (fs-0123abcd...)' })),
  rootDirectory: z.optional(AbsolutePathSchema),
  accessPointId: z.optional(
    z.string().check(z.regex(/^fsap-[0-9a-f]{8,40}$/, { error: 'must be an EFS access point id (fsap-0123abcd...)' })),
  ),
});

const EmptyDirSchema = z.strictObject({
  medium: z.optional(z.string()),
  sizeLimit: z.optional(z.union([z.string(), z.number()])),
});

export const VOLUME_SOURCE_KINDS = ['hostPath', 'efs', 'emptyDir'] as const;
export type VolumeSourceKind = (typeof VOLUME_SOURCE_KINDS)[number];

const volumeSourceShape = {
  hostPath: z.optional(HostPathSchema),
  efs: z.optional(EfsSchema),
  emptyDir: z.optional(EmptyDirSchema),
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
  return schema.check(
    z.refine((value) => setKinds(value).length === 1, {
      when: (payload) => typeof payload.value === 'object' && payload.value !== null,
      error: (iss) => {
        const set = setKinds(iss.input);
        return set.length === 0
          ? `exactly one of ${kinds.join(', ')} must be set`
          : `exactly one of ${kinds.join(', ')} must be set, found ${set.join(' and ')}`;
      },
    }),
  );
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
  subPath: z.optional(RelativePathSchema),
  readOnly: z.optional(z.boolean()),
  mountPropagation: z.optional(z.string()),
});
export type VolumeMount = z.infer<typeof VolumeMountSchema>;

// ---- backends ---------------------------------------------------------------------------

/** S3 bucket naming rules (3-63, lowercase, digits, dots, hyphens; not an IP address). */
export const S3BucketSchema = z.string().check(
  z.minLength(3, { error: 'must be 3 to 63 characters (S3 bucket naming rules)' }),
  z.maxLength(63, { error: 'must be 3 to 63 characters (S3 bucket naming rules)' }),
  z.regex(/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/, {
    error: 'must use lowercase letters, digits, "." and "-", starting and ending with a letter or digit (S3 bucket naming rules)',
  }),
  z.refine((b) => !b.includes('..'), { error: 'must not contain ".." (S3 bucket naming rules)' }),
  z.refine((b) => !/^\d+\.\d+\.\d+\.\d+$/.test(b), { error: 'must not be an IP address (S3 bucket naming rules)' }),
);

/** Google Cloud Storage bucket naming rules. */
export const GcsBucketSchema = z.string().check(
  z.minLength(3, { error: 'must be 3 to 63 characters (GCS bucket naming rules)' }),
  z.maxLength(222, { error: 'must be at most 222 characters (GCS bucket naming rules)' }),
  z.regex(/^[a-z0-9][a-z0-9._-]*[a-z0-9]$/, {
    error: 'must use lowercase letters, digits, "-", "_" and ".", starting and ending with a letter or digit (GCS bucket naming rules)',
  }),
  z.refine((b) => b.split('.').every((part) => part.length <= 63) && (b.includes('.') || b.length <= 63), {
    error: 'must be 3 to 63 characters, or dot-separated parts of at most 63 (GCS bucket naming rules)',
  }),
  z.refine((b) => !b.startsWith('goog'), { error: 'must not start with "goog" (GCS bucket naming rules)' }),
);

/** Azure Blob container naming rules. */
export const AzureContainerSchema = z.string().check(
  z.minLength(3, { error: 'must be 3 to 63 characters (Azure container naming rules)' }),
  z.maxLength(63, { error: 'must be 3 to 63 characters (Azure container naming rules)' }),
  z.regex(/^[a-z0-9]([a-z0-9]|-(?!-))*[a-z0-9]$/, {
    error: 'must use lowercase letters, digits and single "-", starting and ending with a letter or digit (Azure container naming rules)',
  }),
);

/** OpenStack Swift container naming rules (1-256 bytes, no "/"). */
export const SwiftContainerSchema = z.string().check(
  z.minLength(1, { error: 'must not be empty' }),
  z.refine((c) => Buffer.byteLength(c) <= 256, { error: 'must be at most 256 bytes (Swift container naming rules)' }),
  z.refine((c) => !c.includes('/'), { error: 'must not contain "/" (Swift container naming rules)' }),
);

/** Backblaze B2 bucket naming rules (6-50, letters, digits, "-"; not starting with "b2-"). */
export const B2BucketSchema = z.string().check(
  z.minLength(6, { error: 'must be 6 to 50 characters (B2 bucket naming rules)' }),
  z.maxLength(50, { error: 'must be 6 to 50 characters (B2 bucket naming rules)' }),
  z.regex(/^[A-Za-z0-9-]+$/, { error: 'must use only letters, digits and "-" (B2 bucket naming rules)' }),
  z.refine((b) => !b.toLowerCase().startsWith('b2-'), { error: 'must not start with "b2-" (B2 bucket naming rules)' }),
);

/** True for a URL that carries credentials (`https://user:pass@host`): those belong in the secret. */
function hasUserInfo(text: string): boolean {
  if (!URL.canParse(text)) return false;
  const url = new URL(text);
  return url.username !== '' || url.password !== '';
}

const HttpUrlSchema = z.string().check(
  z.refine(
    (u) => {
      try {
        const url = new URL(u);
        return url.protocol === 'http:' || url.protocol === 'https:';
      } catch {
        return false;
      }
    },
    { error: 'must be an http:// or https:// URL' },
  ),
  z.refine((u) => !hasUserInfo(u), {
    error: 'must not contain a user name or password: put them in the secret as RESTIC_REST_USERNAME and RESTIC_REST_PASSWORD',
  }),
);

/** `s3.endpoint`: a host (`s3.amazonaws.com`, https is implied) or an `http(s)://` URL. */
const S3EndpointSchema = z.string().check(
  z.minLength(1, { error: 'must not be empty', abort: true }),
  z.refine(
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
  ),
  z.refine((e) => !hasUserInfo(e), {
    error: 'must not contain a user name or password: the keys belong in the secret (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)',
  }),
);

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
    local: z.optional(LocalBackendSchema),
    s3: z.optional(S3BackendSchema),
    gcs: z.optional(GcsBackendSchema),
    azure: z.optional(AzureBackendSchema),
    swift: z.optional(SwiftBackendSchema),
    b2: z.optional(B2BackendSchema),
    rest: z.optional(RestBackendSchema),
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
  z.number().check(z.positive({ error: 'must be positive' })),
  z.string().check(
    z.regex(/^\d+(\.\d+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/, {
      error: 'must be a Kubernetes quantity such as 500m, 1, 512Mi or 2Gi',
    }),
  ),
]);

const ResourceListSchema = z.strictObject({
  cpu: z.optional(QuantitySchema),
  memory: z.optional(QuantitySchema),
  'ephemeral-storage': z.optional(QuantitySchema),
});

/** Kubernetes `ResourceRequirements`; on AWS it chooses the Fargate task size. */
export const ResourcesSchema = z.strictObject({
  limits: z.optional(ResourceListSchema),
  requests: z.optional(ResourceListSchema),
});
export type Resources = z.infer<typeof ResourcesSchema>;

/** `restic check` on a schedule of its own (our extension). */
export const CheckPolicySchema = z.strictObject({
  /** Cron expression or `@every`; default `@every 72h` (every 3 days, as Stash did). */
  schedule: z.optional(z.string()),
  /** Passed as `--read-data-subset`: `n/t`, a percentage such as `10%`, or a size such as `500M`. */
  readDataSubset: z.optional(
    z.string().check(
      z.regex(/^(\d+\/\d+|\d+(\.\d+)?%|\d+(\.\d+)?[KMGT]?)$/, { error: 'must be n/t, a percentage such as 10%, or a size such as 500M' }),
    ),
  ),
  /** No scheduled checks for this spec. */
  paused: z.optional(z.boolean()),
});
export type CheckPolicy = z.infer<typeof CheckPolicySchema>;

const LabelSelectorRequirementSchema = z.looseObject({});

export const ResticSpecSchema = z.strictObject({
  selector: z.optional(
    z.strictObject({
      matchLabels: z.optional(z.record(z.string(), z.string())),
      matchExpressions: z.optional(z.array(LabelSelectorRequirementSchema)),
    }),
  ),
  fileGroups: z.array(FileGroupSchema).check(z.minLength(1, { error: 'must have at least one fileGroup' })),
  backend: BackendSchema,
  schedule: z.string(),
  volumeMounts: z.optional(z.array(VolumeMountSchema)),
  resources: z.optional(ResourcesSchema),
  paused: z.optional(z.boolean()),
  useAutoPrefix: z.optional(z.string()),
  volumes: z.optional(z.array(VolumeSchema)),
  /** Go duration; a slot not started within it is recorded as missed (default `1h`). */
  startWindow: z.optional(z.string()),
  check: z.optional(CheckPolicySchema),
});
export type ResticSpec = z.infer<typeof ResticSpecSchema>;

/** The metadata fields Kubernetes may put on any object; all but `name` are ignored. */
export const ObjectMetaSchema = z.strictObject({
  name: Dns1123LabelSchema,
  namespace: z.optional(z.string()),
  uid: z.optional(z.string()),
  resourceVersion: z.optional(z.string()),
  generation: z.optional(z.number()),
  selfLink: z.optional(z.string()),
  creationTimestamp: z.optional(z.union([z.string(), z.date()])),
  deletionTimestamp: z.optional(z.union([z.string(), z.date()])),
  deletionGracePeriodSeconds: z.optional(z.number()),
  labels: z.optional(z.record(z.string(), z.string())),
  annotations: z.optional(z.record(z.string(), z.string())),
  generateName: z.optional(z.string()),
  finalizers: z.optional(z.array(z.string())),
  ownerReferences: z.optional(z.array(z.looseObject({}))),
  managedFields: z.optional(z.array(z.looseObject({}))),
  clusterName: z.optional(z.string()),
});

/** A whole `Restic` document. */
export const ResticSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION, { error: `must be ${API_VERSION}` }),
  kind: z.literal(KIND, { error: `must be ${KIND}` }),
  metadata: ObjectMetaSchema,
  spec: ResticSpecSchema,
  /** What the Kubernetes controller wrote; ignored. */
  status: z.optional(z.unknown()),
});
export type Restic = z.infer<typeof ResticSchema>;
