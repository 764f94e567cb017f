/**
 * Stash's `Restic` object (`stash.appscode.com/v1alpha1`), accepted in every shape Stash 0.5
 * to 0.8 read, as users wrote it for Kubernetes, including what `kubectl get -o yaml` adds to
 * `metadata` (docs/stash-compatibility.md lists every field per release). Unknown fields are
 * errors, so a typo such as `filegroups` never passes silently.
 *
 * The shapes that changed between releases are all accepted as written, never rewritten:
 * a fileGroup's policy is Stash 0.5's inline `retentionPolicy` or 0.6's `retentionPolicyName`
 * into `spec.retentionPolicies` ({@link retentionPolicyOf} reads either), and `backend.local`
 * is 0.5's `{path, volumeSource}`, 0.6.0's `{mountPath, subPath?, VolumeSource}` or 0.6.3's
 * `{mountPath, subPath?, <source>}` ({@link mountedVolume} reads any). The schema neither
 * transforms nor adds defaults: compiled specs restore a spec from its stored value.
 *
 * Our extensions, all optional: `spec.volumes[]` (where `volumeMounts` point on AWS or on one
 * machine), the `efs` volume source, `backend.rest`, `spec.startWindow`, `spec.timeout`,
 * `spec.sharedRepository` and `spec.check`.
 *
 * Only shapes live here; what needs more than the document itself (schedules, policy names,
 * volume references, unique names) is checked in `core/spec.ts`.
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

/** C0 control characters and DEL: a path or prefix holding one is a typo (a YAML block scalar's newline), never a folder someone meant. */
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

/** The name of the first control character in a text, as a message says it. */
function controlCharacter(text: string): string {
  const c = CONTROL_CHARACTER.exec(text)?.[0] ?? '';
  const names: Record<string, string> = { '\0': 'a NUL', '\n': 'a newline', '\r': 'a carriage return', '\t': 'a tab' };
  const name = names[c] ?? `U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
  return `${name}${text.endsWith(c) ? ' at the end' : ''}`;
}

/** No control character: the same rule, and message, for every path and prefix. */
const noControlCharacter = z.refine<string>((p) => !CONTROL_CHARACTER.test(p), {
  error: (iss) => `must not contain a control character (found ${controlCharacter(String(iss.input))})`,
});

/** An absolute POSIX path with no `..` segment. */
export const AbsolutePathSchema = z.string().check(
  z.minLength(1, { error: 'must not be empty', abort: true }),
  z.refine((p) => p.startsWith('/'), { error: 'must be absolute' }),
  z.refine((p) => !p.split('/').includes('..'), { error: 'must not contain ".."' }),
  noControlCharacter,
);

/** A path inside a volume (`subPath`, a repository prefix): relative, no `..`. */
const RelativePathSchema = z.string().check(
  z.refine((p) => !p.startsWith('/'), { error: 'must be relative' }),
  z.refine((p) => !p.split('/').includes('..'), { error: 'must not contain ".."' }),
  noControlCharacter,
);

/** A prefix inside a bucket or container; leading and trailing slashes are ignored. */
const PrefixSchema = z.optional(
  z.string().check(
    z.refine((p) => !p.split('/').includes('..'), { error: 'must not contain ".."' }),
    noControlCharacter,
  ),
);

const TagSchema = z.string().check(
  z.minLength(1, { error: 'must not be empty' }),
  z.refine((t) => !t.includes(','), { error: 'must not contain "," (restic splits tags on commas)' }),
);

const CountSchema = z.int({ error: 'must be a non-negative integer' }).check(z.nonnegative({ error: 'must be a non-negative integer' }));

const retentionShape = {
  keepLast: z.optional(CountSchema),
  keepHourly: z.optional(CountSchema),
  keepDaily: z.optional(CountSchema),
  keepWeekly: z.optional(CountSchema),
  keepMonthly: z.optional(CountSchema),
  keepYearly: z.optional(CountSchema),
  keepTags: z.optional(z.array(TagSchema)),
  prune: z.optional(z.boolean()),
  dryRun: z.optional(z.boolean()),
};

/** restic's `forget` policy for one fileGroup, as Stash 0.5 wrote it inline (`fileGroups[].retentionPolicy`). */
export const RetentionPolicySchema = z.strictObject(retentionShape);
export type RetentionPolicy = z.infer<typeof RetentionPolicySchema>;

/**
 * A policy of `spec.retentionPolicies` (Stash 0.6 and later), which fileGroups name with
 * `retentionPolicyName`. `name` may be left out, as in Stash: such a policy applies to the
 * fileGroups that name none.
 */
export const NamedRetentionPolicySchema = z.strictObject({ name: z.optional(z.string()), ...retentionShape });
export type NamedRetentionPolicy = z.infer<typeof NamedRetentionPolicySchema>;

/** One path backed up as one restic snapshot. */
export const FileGroupSchema = z.strictObject({
  path: AbsolutePathSchema,
  tags: z.optional(z.array(TagSchema)),
  /** Stash 0.5. */
  retentionPolicy: z.optional(RetentionPolicySchema),
  /** Stash 0.6 and later: the `name` of one of `spec.retentionPolicies`. */
  retentionPolicyName: z.optional(z.string()),
});
export type FileGroup = z.infer<typeof FileGroupSchema>;

/**
 * The policy `restic forget` applies to a fileGroup, as Stash chose it: the inline
 * `retentionPolicy` (0.5), else the first of `spec.retentionPolicies` whose `name` equals
 * the fileGroup's `retentionPolicyName`, a missing name counting as "" (0.6 to 0.8). None:
 * every snapshot is kept.
 */
export function retentionPolicyOf(spec: Pick<ResticSpec, 'retentionPolicies'>, group: FileGroup): RetentionPolicy | undefined {
  if (group.retentionPolicy) return group.retentionPolicy;
  const wanted = group.retentionPolicyName ?? '';
  return spec.retentionPolicies?.find((p) => (p.name ?? '') === wanted);
}

// ---- volumes (our extension) ------------------------------------------------------------

const HostPathSchema = z.strictObject({
  path: AbsolutePathSchema,
  type: z.optional(z.string()),
});

/** An EFS file system id, as specs, Recoveries and the stack's settings name one. */
const EFS_ID = /^fs-[0-9a-f]{8,40}$/;
export const isEfsId = (id: string): boolean => EFS_ID.test(id);

const EfsSchema = z.strictObject({
  fileSystemId: z.string().check(z.regex(EFS_ID, { error: 'must be an EFS file system id (fs-0123abcd...)' })),
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

// ---- volumes written inline: backend.local and a Recovery's recoveredVolumes ---------------

/**
 * Kubernetes' volume sources (the API Stash 0.5 to 0.8 vendored) other than `hostPath` and
 * `emptyDir`. A document may name one in `backend.local` or a Recovery's `recoveredVolumes`:
 * it validates, with a warning saying what to map it to, and a run that needs it fails.
 */
export const KUBERNETES_VOLUME_SOURCES = [
  'gcePersistentDisk',
  'awsElasticBlockStore',
  'gitRepo',
  'secret',
  'nfs',
  'iscsi',
  'glusterfs',
  'persistentVolumeClaim',
  'rbd',
  'flexVolume',
  'cinder',
  'cephfs',
  'flocker',
  'downwardAPI',
  'fc',
  'azureFile',
  'configMap',
  'vsphereVolume',
  'quobyte',
  'azureDisk',
  'photonPersistentDisk',
  'projected',
  'portworxVolume',
  'scaleIO',
  'storageos',
] as const;

/** Every volume source a Stash document may name: ours first (the ones that run), then Kubernetes' others. */
export const ANY_VOLUME_SOURCE_KINDS = [...VOLUME_SOURCE_KINDS, ...KUBERNETES_VOLUME_SOURCES] as const;

function optionalEach<const K extends string, S extends z.ZodType>(keys: readonly K[], schema: S) {
  return Object.fromEntries(keys.map((k) => [k, z.optional(schema)])) as { [P in K]: ReturnType<typeof z.optional<S>> };
}

/** Ours as they are checked, and a Kubernetes-only source as any mapping: it never runs, so only its presence matters. */
const anyVolumeSourceShape = { ...volumeSourceShape, ...optionalEach(KUBERNETES_VOLUME_SOURCES, z.looseObject({})) };

const sourcesIn = (value: object) => ANY_VOLUME_SOURCE_KINDS.filter((k) => (value as Record<string, unknown>)[k] !== undefined);
const sourceChoice = `hostPath (this machine), efs (AWS) or emptyDir`;
const whenObject = { when: (payload: { value: unknown }) => typeof payload.value === 'object' && payload.value !== null };

/** A volume source as Stash 0.5 to 0.6.2 wrote it under `volumeSource`: exactly one source, of any kind. */
export const AnyVolumeSourceSchema = z.strictObject(anyVolumeSourceShape).check(
  z.superRefine((v, ctx) => {
    const set = sourcesIn(v);
    if (set.length === 0) ctx.addIssue({ code: 'custom', message: `a volume source must be set: ${sourceChoice}` });
    if (set.length > 1) ctx.addIssue({ code: 'custom', message: `exactly one volume source must be set, found ${set.join(' and ')}` });
  }, whenObject),
);

/** The fields every inline volume has (Stash's `LocalSpec` from 0.6 on, plus 0.6.0's `VolumeSource` key). */
const inlineVolumeShape = {
  mountPath: z.optional(AbsolutePathSchema),
  subPath: z.optional(RelativePathSchema),
  /** Stash 0.5 and 0.6.0 to 0.6.2: the source under a key of its own. */
  volumeSource: z.optional(AnyVolumeSourceSchema),
  /** 0.6.0 to 0.6.2 decoded the key under Go's own field name, in any case; both spellings are read. */
  VolumeSource: z.optional(AnyVolumeSourceSchema),
  ...anyVolumeSourceShape,
};

type InlineVolume = { [K in keyof typeof inlineVolumeShape]?: z.infer<(typeof inlineVolumeShape)[K]> } & { readonly path?: string };

/**
 * The shape rules of an inline volume, in every release's form: Stash 0.5's `path` with the
 * source under `volumeSource`, or `mountPath` with exactly one source, wrapped (0.6.0 to
 * 0.6.2) or inline (0.6.3 and later). Runs even when a member has errors of its own.
 */
function inlineVolumeRules(v: InlineVolume, ctx: { addIssue(issue: { code: 'custom'; path?: PropertyKey[]; message: string }): void }) {
  const issue = (path: PropertyKey[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  const wrapped = (['volumeSource', 'VolumeSource'] as const).filter((k) => v[k] !== undefined);
  const inline = sourcesIn(v);
  if (wrapped.length === 2) issue(['VolumeSource'], 'volumeSource and VolumeSource are one field (Go read it in any case): keep one');
  if (v.path !== undefined) {
    if (v.mountPath !== undefined) issue(['path'], 'path (Stash 0.5) and mountPath (Stash 0.6 and later) both say where the repository is mounted: keep one');
    if (v.subPath !== undefined) issue(['subPath'], "Stash 0.5's path takes no subPath: write mountPath (Stash 0.6 and later) instead of path");
    for (const k of inline) issue([k], 'with path (Stash 0.5) the volume source goes under volumeSource');
    if (wrapped.length === 0) issue(['volumeSource'], 'Required');
    return;
  }
  if (v.mountPath === undefined) issue(['mountPath'], 'Required');
  const sources = [...wrapped, ...inline];
  if (sources.length === 0) issue([], `a volume source must be set next to mountPath: ${sourceChoice}`);
  else if (inline.length && wrapped.length) issue([], `exactly one volume source must be set, found ${sources.join(' and ')}`);
  else if (inline.length > 1) issue([], `exactly one volume source must be set, found ${inline.join(' and ')}`);
}

/** An inline volume's shape rules, as a check for a schema of its own. */
export const inlineVolumeCheck = z.superRefine((v: InlineVolume, ctx) => inlineVolumeRules(v, ctx), whenObject);

/** Inline volume fields for a schema that extends them (a Recovery's `recoveredVolumes`). */
export const INLINE_VOLUME_SHAPE = inlineVolumeShape;

/** What to do with a volume source that cannot exist here; warnings and run errors say the same. */
export function unsupportedVolumeSource(kind: string): string {
  return `a Kubernetes ${kind} volume cannot exist here: replace it with efs: {fileSystemId: fs-...} on AWS or hostPath: {path: ...} on one machine, the sources spec.volumes takes`;
}

/** An inline volume read the same way whatever release's shape it was written in. */
export interface MountedVolume {
  /** Where it is mounted: `mountPath`, or Stash 0.5's `path`. */
  readonly mountPath: string;
  readonly subPath?: string;
  /** The source's kind as written: `hostPath`, `efs`, `emptyDir`, or a Kubernetes one such as `nfs`. */
  readonly kind: (typeof ANY_VOLUME_SOURCE_KINDS)[number];
  /** Where the source is written, relative to the volume: `hostPath`, `volumeSource.hostPath`, `VolumeSource.nfs`. */
  readonly field: string;
  /** The source, when it is one that can exist here (hostPath, efs or emptyDir). */
  readonly source?: VolumeSource;
}

/** A valid inline volume ({@link LocalBackendSchema}, a Recovery's recovered volume) in one form. */
export function mountedVolume(v: InlineVolume): MountedVolume {
  const wrapper = v.volumeSource !== undefined ? 'volumeSource' : v.VolumeSource !== undefined ? 'VolumeSource' : undefined;
  const holder: InlineVolume = wrapper ? v[wrapper]! : v;
  const kind = sourcesIn(holder)[0];
  if (kind === undefined) throw new Error('volume has no source (it was not validated)');
  const source: VolumeSource | undefined =
    kind === 'hostPath' ? { hostPath: holder.hostPath } : kind === 'efs' ? { efs: holder.efs } : kind === 'emptyDir' ? { emptyDir: holder.emptyDir } : undefined;
  return {
    mountPath: v.path ?? v.mountPath!,
    ...(v.subPath !== undefined ? { subPath: v.subPath } : {}),
    kind,
    field: wrapper ? `${wrapper}.${kind}` : kind,
    source,
  };
}

// ---- backends ---------------------------------------------------------------------------

/** Dotted-decimal IPv4, as bucket naming rules word it ("formatted as an IP address"). */
const DOTTED_DECIMAL = /^\d+\.\d+\.\d+\.\d+$/;

/**
 * Prefixes and suffixes AWS reserves (general purpose bucket naming rules, 2025): each with
 * what AWS keeps it for, which the message says.
 */
export const S3_RESERVED_PREFIXES: Readonly<Record<string, string>> = {
  'xn--': 'internationalised (punycode) names',
  'sthree-': 'S3 itself',
  'amzn-s3-demo-': "AWS's documentation examples",
};
export const S3_RESERVED_SUFFIXES: Readonly<Record<string, string>> = {
  '-s3alias': 'access point aliases',
  '--ol-s3': 'Object Lambda access point aliases',
  '.mrap': 'Multi-Region Access Points',
  '--x-s3': 'directory buckets',
  '--table-s3': 'table buckets',
};

/** The reserved prefix or suffix a name uses, and why it is reserved; undefined for none. */
function reservedAffix(name: string): string | undefined {
  const prefix = Object.keys(S3_RESERVED_PREFIXES).find((p) => name.startsWith(p));
  if (prefix) return `must not start with "${prefix}", which AWS reserves for ${S3_RESERVED_PREFIXES[prefix]} (S3 bucket naming rules)`;
  const suffix = Object.keys(S3_RESERVED_SUFFIXES).find((x) => name.endsWith(x));
  if (suffix) return `must not end with "${suffix}", which AWS reserves for ${S3_RESERVED_SUFFIXES[suffix]} (S3 bucket naming rules)`;
  return undefined;
}

/**
 * S3 bucket naming rules (AWS's, for general purpose buckets; S3-compatible servers follow
 * them too): 3-63 characters of lowercase letters, digits, "." and "-", starting and ending
 * with a letter or digit, no "..", not an IP address, no reserved prefix or suffix.
 */
export const S3BucketSchema = z.string().check(
  z.minLength(3, { error: 'must be 3 to 63 characters (S3 bucket naming rules)' }),
  z.maxLength(63, { error: 'must be 3 to 63 characters (S3 bucket naming rules)' }),
  z.regex(/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/, {
    error: 'must use lowercase letters, digits, "." and "-", starting and ending with a letter or digit (S3 bucket naming rules)',
  }),
  z.refine((b) => !b.includes('..'), { error: 'must not contain ".." (S3 bucket naming rules)' }),
  z.refine((b) => !DOTTED_DECIMAL.test(b), { error: 'must not be an IP address (S3 bucket naming rules)' }),
  z.refine((b) => reservedAffix(b) === undefined, { error: (iss) => reservedAffix(String(iss.input)) }),
);

/**
 * "google" and its close misspellings, which a GCS bucket name must not contain: 0 for o,
 * 1 for l, 3 for e, one to three o's, or "el" for "le" (`g00gle`, `gogle`, `googel`).
 */
const GOOGLE_LIKE = /g[o0]{1,3}g(?:[l1][e3]|[e3][l1])/;

/**
 * Google Cloud Storage bucket naming rules: lowercase letters, digits, "-", "_" and ".",
 * starting and ending with a letter or digit; 3-63 characters, or up to 222 with dots and
 * every dot-separated part at most 63; not an IP address; not starting with "goog"; not
 * containing "google" or a close misspelling.
 */
export const GcsBucketSchema = z.string().check(
  z.minLength(3, { error: 'must be 3 to 63 characters (GCS bucket naming rules)' }),
  z.maxLength(222, { error: 'must be at most 222 characters (GCS bucket naming rules)' }),
  z.regex(/^[a-z0-9][a-z0-9._-]*[a-z0-9]$/, {
    error: 'must use lowercase letters, digits, "-", "_" and ".", starting and ending with a letter or digit (GCS bucket naming rules)',
  }),
  z.refine((b) => b.split('.').every((part) => part.length <= 63) && (b.includes('.') || b.length <= 63), {
    error: 'must be 3 to 63 characters, or dot-separated parts of at most 63 (GCS bucket naming rules)',
  }),
  z.refine((b) => !DOTTED_DECIMAL.test(b), { error: 'must not be an IP address (GCS bucket naming rules)' }),
  z.refine((b) => !b.startsWith('goog'), { error: 'must not start with "goog" (GCS bucket naming rules)' }),
  z.refine((b) => b.startsWith('goog') || !GOOGLE_LIKE.test(b), {
    error: (iss) => `must not contain "google" or a close misspelling of it (found "${GOOGLE_LIKE.exec(String(iss.input))?.[0]}") (GCS bucket naming rules)`,
  }),
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

/** One label of a host name: letters, digits, "-" and "_" (which internal names use), not starting or ending with "-". */
const HOST_LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/i;

/** A host restic can connect to: a DNS name, a dotted-decimal IPv4 address or a bracketed IPv6 one. */
function isHost(host: string): boolean {
  if (host.startsWith('[')) return host.endsWith(']') && URL.canParse(`http://${host}/`);
  if (/^[\d.]+$/.test(host)) return /^(\d{1,3})(\.\d{1,3}){3}$/.test(host) && host.split('.').every((o) => Number(o) <= 255);
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  return name.length > 0 && name.length <= 253 && name.split('.').every((label) => HOST_LABEL.test(label));
}

/**
 * Why the server part of an endpoint or URL names no server restic can reach, or undefined:
 * a query or fragment (restic would send it as part of every object's path), no host or not
 * one, a port outside 1-65535. Shape, scheme and credentials are checked by the schemas.
 */
function serverProblem(text: string): string | undefined {
  const [, authority, rest] = /^(?:[a-z][a-z0-9+.-]*:\/\/)?([^/?#]*)([^]*)$/i.exec(text)!;
  if (/[?#]/.test(rest)) return 'must not have a query (?...) or a fragment (#...)';
  const hostPort = authority.slice(authority.lastIndexOf('@') + 1);
  const [, host, port] = /^(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(hostPort) ?? [undefined, hostPort, undefined];
  if (host === '') return 'must name a host';
  if (!isHost(host)) return `${JSON.stringify(host)} is not a host name or an IP address`;
  if (port !== undefined && !(/^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) {
    return `the port must be 1 to 65535 (got ${JSON.stringify(port)})`;
  }
  return undefined;
}

/** Refuses what {@link serverProblem} finds, in its words; runs after the shape checks (`abort` on those). */
const reachableServer = z.refine<string>((u) => serverProblem(u) === undefined, { error: (iss) => serverProblem(String(iss.input)) });

const HttpUrlSchema = z.string().check(
  z.refine((u) => /^https?:\/\//i.test(u), { error: 'must be an http:// or https:// URL', abort: true }),
  z.refine((u) => !hasUserInfo(u), {
    error: 'must not contain a user name or password: put them in the secret as RESTIC_REST_USERNAME and RESTIC_REST_PASSWORD',
  }),
  reachableServer,
  z.refine((u) => serverProblem(u) !== undefined || URL.canParse(u), { error: 'must be an http:// or https:// URL' }),
);

/** `s3.endpoint`: a host (`s3.amazonaws.com`, https is implied) or an `http(s)://` URL. */
const S3EndpointSchema = z.string().check(
  z.minLength(1, { error: 'must not be empty', abort: true }),
  z.refine(
    (e) => {
      if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(e)) return /^[^/?#@]*$/.test(e);
      if (!/^https?:\/\//i.test(e)) return false;
      // A path, but not a query or fragment, which reachableServer names.
      const path = /^[^:]*:\/\/[^/?#]*([^?#]*)/.exec(e)![1];
      return path.replace(/\/+$/, '') === '';
    },
    { error: 'must be a host[:port] (https is implied) or an http:// or https:// URL without a path', abort: true },
  ),
  z.refine((e) => !hasUserInfo(e), {
    error: 'must not contain a user name or password: the keys belong in the secret (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)',
  }),
  reachableServer,
);

/**
 * `backend.local`, in each release's shape: 0.5 `{path, volumeSource}`, 0.6.0 to 0.6.2
 * `{mountPath, subPath?, VolumeSource}`, 0.6.3 and later `{mountPath, subPath?, <source>}`.
 * Read it with {@link mountedVolume}.
 */
export const LocalBackendSchema = z.strictObject({ path: z.optional(AbsolutePathSchema), ...inlineVolumeShape }).check(inlineVolumeCheck);
export type LocalBackend = z.infer<typeof LocalBackendSchema>;
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

const QUANTITY = /^\d+(\.\d+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

/** A Kubernetes quantity above zero: no task runs on `cpu: "0"` or `memory: 0Gi`. */
const QuantitySchema = z.union([
  z.number().check(z.positive({ error: 'must be positive' })),
  z.string().check(
    z.regex(QUANTITY, { error: 'must be a Kubernetes quantity such as 500m, 1, 512Mi or 2Gi' }),
    // Not `abort` on the pattern: a union reports a member's own message only if it did not abort.
    z.refine((q) => !QUANTITY.test(q) || Number.parseFloat(q) > 0, { error: 'must be positive' }),
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

/** restic's `t` in `--read-data-subset=n/t` is at most this (cmd_check.go's `totalBucketsMax`). */
export const MAX_READ_DATA_BUCKETS = 256;
const READ_DATA_SUBSET_FORMS = `n/t (1 <= n <= t <= ${MAX_READ_DATA_BUCKETS}), a percentage above 0% and at most 100% such as 10%, or a size with a unit (b, k, m, g or t) such as 500M`;
const SIZE_UNITS: Readonly<Record<string, bigint>> = { b: 1n, k: 1n << 10n, m: 1n << 20n, g: 1n << 30n, t: 1n << 40n };
const MAX_INT64 = (1n << 63n) - 1n;

/**
 * Why restic 0.18 would refuse a `--read-data-subset` value (cmd_check.go, `checkFlags`), or
 * undefined. restic reads digits-only text as `n/t` first (so `500` is refused: a size needs
 * its unit), then a `%` suffix as a percentage in (0, 100], then a size (`ui.ParseBytes`:
 * whole number, optional unit b/k/m/g/t in either case, above 0, within an int64). Ours is
 * the plain decimal part of that grammar: restic's float syntax (`1e1%`, `0x10%`) is refused.
 */
export function readDataSubsetProblem(value: string): string | undefined {
  const got = ` (got ${JSON.stringify(value)})`;
  const parts = /^(\d+)\/(\d+)$/.exec(value);
  if (parts) {
    const [n, t] = [BigInt(parts[1]), BigInt(parts[2])];
    if (n < 1n || t < 1n || n > t) return `n/t must have 1 <= n <= t: restic reads the n-th of t parts${got}`;
    if (t > BigInt(MAX_READ_DATA_BUCKETS)) return `n/t must have t at most ${MAX_READ_DATA_BUCKETS}, restic's limit${got}`;
    return undefined;
  }
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(value);
  if (percent) {
    const p = Number(percent[1]);
    return p > 0 && p <= 100 ? undefined : `a percentage must be above 0% and at most 100%${got}`;
  }
  const size = /^(\d+)([bkmgt])$/i.exec(value);
  if (size) {
    const bytes = BigInt(size[1]) * SIZE_UNITS[size[2].toLowerCase()];
    if (bytes <= 0n) return `a size must be above 0${got}`;
    return bytes > MAX_INT64 ? `a size must be below 8 EiB (2^63 bytes), what restic can count${got}` : undefined;
  }
  if (/^\d+$/.test(value)) return `a size needs a unit (b, k, m, g or t) such as 500M: restic reads a bare number as n/t and refuses it${got}`;
  return `must be ${READ_DATA_SUBSET_FORMS}${got}`;
}

/** `check.readDataSubset` (and `stash check --read-data-subset`): what restic's `--read-data-subset` accepts. */
export const ReadDataSubsetSchema = z.string().check(
  // The grammar as a pattern too, so that editors check it (the JSON Schema keeps patterns, not refinements).
  z.regex(/^(\d+\/\d+|\d+(\.\d+)?%|\d+[bkmgtBKMGT])$/, { error: (iss) => readDataSubsetProblem(String(iss.input)), abort: true }),
  z.superRefine((value, ctx) => {
    const problem = readDataSubsetProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem, input: value });
  }),
);

/** `restic check` on a schedule of its own (our extension). */
export const CheckPolicySchema = z.strictObject({
  /** Cron expression or `@every`; default Stash's check schedule, midnight on days 1, 4, ..., 31 (`DEFAULT_CHECK_SCHEDULE`). */
  schedule: z.optional(z.string()),
  /** Passed as `--read-data-subset`: `n/t`, a percentage such as `10%`, or a size such as `500M`. */
  readDataSubset: z.optional(ReadDataSubsetSchema),
  /** No scheduled checks for this spec. */
  paused: z.optional(z.boolean()),
});
export type CheckPolicy = z.infer<typeof CheckPolicySchema>;

const LabelSelectorRequirementSchema = z.looseObject({});

/** Stash 0.5's `useAutoPrefix` values; its decoder refused any other. */
export const AUTO_PREFIXES = ['', 'Smart', 'NodeName', 'PodName', 'None'] as const;

/** Stash's `spec.type` (0.6 and later). */
export const BACKUP_TYPES = ['online', 'offline'] as const;

/** A Kubernetes `LocalObjectReference`, as `imagePullSecrets` lists them. */
const LocalObjectReferenceSchema = z.strictObject({ name: z.optional(z.string()) });

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
  /** Stash 0.6 and later: the policies fileGroups name with `retentionPolicyName`. */
  retentionPolicies: z.optional(z.array(NamedRetentionPolicySchema)),
  /** Stash 0.6 and later; `offline` runs as `online` does here (there are no pods to stop). */
  type: z.optional(z.enum(BACKUP_TYPES, { error: 'must be online or offline' })),
  /** Stash 0.7 and later. */
  paused: z.optional(z.boolean()),
  /** Stash 0.7 and later; ignored: the runner's image is the stack's. */
  imagePullSecrets: z.optional(z.array(LocalObjectReferenceSchema)),
  /** Stash 0.5; ignored. */
  useAutoPrefix: z.optional(z.enum(AUTO_PREFIXES, { error: 'must be Smart, NodeName, PodName or None (the values Stash 0.5 read)' })),
  volumes: z.optional(z.array(VolumeSchema)),
  /** Go duration; a slot not started within it is recorded as missed (default `1h`). */
  startWindow: z.optional(z.string()),
  /** Go duration; a run still going after it is stopped and recorded as timed out (default `12h`). */
  timeout: z.optional(z.string()),
  /**
   * The repository is also used by something outside this project (another machine's restic,
   * restic by hand): its locks are never removed, a run waits for them and then fails naming
   * their holder. Without it, a lock a run meets can only be a dead run's (this project runs one
   * run per repository at a time) and is removed.
   */
  sharedRepository: z.optional(z.boolean()),
  check: z.optional(CheckPolicySchema),
});
export type ResticSpec = z.infer<typeof ResticSpecSchema>;

const TimestampSchema = z.union([z.string(), z.date()]);

/**
 * `metadata` as `kubectl get -o yaml` printed it from Kubernetes 1.8 to 1.14 (and
 * `managedFields` from 1.14 on): every field of `ObjectMeta`, with the `null`s and empty values
 * that kubectl of those years wrote. All but `name` are ignored.
 */
export const ObjectMetaSchema = z.strictObject({
  name: Dns1123LabelSchema,
  generateName: z.optional(z.string()),
  namespace: z.optional(z.string()),
  selfLink: z.optional(z.string()),
  uid: z.optional(z.string()),
  resourceVersion: z.optional(z.string()),
  generation: z.optional(z.number()),
  creationTimestamp: z.nullish(TimestampSchema),
  deletionTimestamp: z.nullish(TimestampSchema),
  deletionGracePeriodSeconds: z.nullish(z.number()),
  labels: z.nullish(z.record(z.string(), z.string())),
  annotations: z.nullish(z.record(z.string(), z.string())),
  ownerReferences: z.nullish(z.array(z.looseObject({}))),
  /** Kubernetes 1.8 to 1.15 (an alpha feature, off by default): `initializers: null` in most output. */
  initializers: z.nullish(z.looseObject({})),
  finalizers: z.nullish(z.array(z.string())),
  clusterName: z.optional(z.string()),
  managedFields: z.nullish(z.array(z.looseObject({}))),
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
