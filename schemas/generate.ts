/**
 * The JSON Schema of a `Restic` document, for editors: with the VS Code YAML extension, a
 * first line `# yaml-language-server: $schema=<path>/restic.schema.json` (or a `yaml.schemas`
 * setting) gives completion, hover help and red underlines for unknown fields while writing.
 *
 * Generated from {@link ResticSchema}, so it never drifts from what `stash validate` accepts;
 * `npm run schema` rewrites `schemas/restic.schema.json` and a unit test fails when the
 * committed file is stale. Draft-07, the draft editors (VS Code's YAML and JSON support)
 * understand best. What JSON Schema cannot say (schedules, unique names, volume references,
 * bucket rules beyond a pattern) is left to `stash validate`.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as z from './zod';
import {
  ANY_VOLUME_SOURCE_KINDS,
  AnyVolumeSourceSchema,
  BACKEND_KINDS,
  BackendSchema,
  LocalBackendSchema,
  ResticSchema,
  VOLUME_SOURCE_KINDS,
  VolumeSchema,
  VolumeSourceSchema,
} from './restic';

/** Where the generated schema is committed. */
export const RESTIC_SCHEMA_FILE = fileURLToPath(new URL('./restic.schema.json', import.meta.url));

/** The schema's `$id`: a stable name, not a download location. */
export const RESTIC_SCHEMA_ID = 'urn:stash-serverless:schema:restic:v1alpha1';

/**
 * Hover help per field, keyed by dotted path (`[]` for every item of a list). Each key must
 * name a field of the schema: generating fails on one that does not, so a renamed field
 * cannot keep a stale description.
 */
export const FIELD_DESCRIPTIONS: Readonly<Record<string, string>> = {
  apiVersion: 'Always stash.appscode.com/v1alpha1, as for Stash.',
  kind: 'Always Restic.',
  metadata: 'Kubernetes object metadata. Only name is used; the rest, as `kubectl get -o yaml` printed it (nulls included), is accepted and ignored.',
  'metadata.name': 'The spec name: a DNS-1123 label, unique among all specs. It names the status object and the runs.',
  spec: 'What to back up, where to, and when.',
  'spec.selector': 'Accepted for compatibility with Stash and ignored: there are no pods to select.',
  'spec.fileGroups': 'The paths to back up: one restic snapshot per fileGroup and run.',
  'spec.fileGroups[].path': 'Absolute path to back up, under the mountPath of one of spec.volumeMounts.',
  'spec.fileGroups[].tags': 'restic tags added to each snapshot of this path (no commas).',
  'spec.fileGroups[].retentionPolicy': 'Stash 0.5: restic forget policy applied after each backup of this path; no policy keeps every snapshot.',
  'spec.fileGroups[].retentionPolicy.keepLast': 'Keep the last n snapshots (restic --keep-last).',
  'spec.fileGroups[].retentionPolicy.keepHourly': 'Keep the last n hourly snapshots (restic --keep-hourly).',
  'spec.fileGroups[].retentionPolicy.keepDaily': 'Keep the last n daily snapshots (restic --keep-daily).',
  'spec.fileGroups[].retentionPolicy.keepWeekly': 'Keep the last n weekly snapshots (restic --keep-weekly).',
  'spec.fileGroups[].retentionPolicy.keepMonthly': 'Keep the last n monthly snapshots (restic --keep-monthly).',
  'spec.fileGroups[].retentionPolicy.keepYearly': 'Keep the last n yearly snapshots (restic --keep-yearly).',
  'spec.fileGroups[].retentionPolicy.keepTags': 'Keep snapshots with these tags (restic --keep-tag).',
  'spec.fileGroups[].retentionPolicy.prune': 'Remove the data forgotten snapshots no longer need (restic forget --prune).',
  'spec.fileGroups[].retentionPolicy.dryRun': 'Only report what forget would remove (restic forget --dry-run).',
  'spec.fileGroups[].retentionPolicyName':
    'Stash 0.6 and later: the name of the policy of spec.retentionPolicies that restic forget applies after each backup of this path.',
  'spec.retentionPolicies': 'Stash 0.6 and later: restic forget policies, which fileGroups name with retentionPolicyName.',
  'spec.retentionPolicies[].name': 'What fileGroups name it by (retentionPolicyName).',
  'spec.backend': 'Where restic stores snapshots: storageSecretName and exactly one of local, s3, gcs, azure, swift, b2, rest.',
  'spec.backend.storageSecretName':
    'The secret with RESTIC_PASSWORD and the backend credentials: stash/<name> in Secrets Manager on AWS, a folder or <name>.json locally.',
  'spec.backend.local':
    'A repository on a volume, in any Stash shape: {mountPath, subPath?, <source>}, {mountPath, VolumeSource: {<source>}} (0.6.0) or {path, volumeSource: {<source>}} (0.5). The source: efs on AWS, hostPath locally.',
  'spec.backend.local.path': 'Stash 0.5: where the repository volume is mounted, e.g. /repo (later releases: mountPath).',
  'spec.backend.local.mountPath': 'Where the repository volume is mounted, e.g. /safe/data; the repository is there.',
  'spec.backend.local.subPath': 'The folder of the volume mounted at mountPath.',
  'spec.backend.local.volumeSource': 'Stash 0.5 and 0.6.0 to 0.6.2: the repository volume under a key of its own: efs on AWS, hostPath locally.',
  'spec.backend.local.hostPath': 'The repository volume is this folder of the machine (local mode).',
  'spec.backend.local.efs': 'The repository volume is an EFS file system (AWS).',
  'spec.backend.local.emptyDir': 'An empty folder that does not outlive a run: only for trying things out.',
  'spec.backend.s3': 'Amazon S3 or an S3-compatible server (MinIO, DigitalOcean Spaces). Secret keys AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY.',
  'spec.backend.s3.endpoint': 's3.amazonaws.com for Amazon S3 (https implied), a host such as nyc3.digitaloceanspaces.com, or http(s)://server:port.',
  'spec.backend.s3.bucket': 'Bucket name (S3 naming rules). restic creates it in the default location if it does not exist.',
  'spec.backend.s3.prefix': 'Path prefix in the bucket where the repository is created.',
  'spec.backend.gcs': 'Google Cloud Storage. Secret keys GOOGLE_PROJECT_ID, GOOGLE_SERVICE_ACCOUNT_JSON_KEY.',
  'spec.backend.gcs.bucket': 'Bucket name (GCS naming rules).',
  'spec.backend.gcs.prefix': 'Path prefix in the bucket where the repository is created.',
  'spec.backend.azure': 'Azure Blob Storage. Secret keys AZURE_ACCOUNT_NAME, AZURE_ACCOUNT_KEY.',
  'spec.backend.azure.container': 'Storage container name (Azure naming rules).',
  'spec.backend.azure.prefix': 'Path prefix in the container where the repository is created.',
  'spec.backend.swift': 'OpenStack Swift. Secret keys: one complete keystone v1, v2, v3 or token set.',
  'spec.backend.swift.container': 'Storage container name.',
  'spec.backend.swift.prefix': 'Path prefix in the container where the repository is created.',
  'spec.backend.b2': 'Backblaze B2. Secret keys B2_ACCOUNT_ID, B2_ACCOUNT_KEY.',
  'spec.backend.b2.bucket': 'Bucket name (B2 naming rules).',
  'spec.backend.b2.prefix': 'Path prefix in the bucket where the repository is created.',
  'spec.backend.rest': 'A restic REST server. Optional secret keys RESTIC_REST_USERNAME, RESTIC_REST_PASSWORD.',
  'spec.backend.rest.url': 'The server URL, http:// or https://, with the repository path.',
  'spec.schedule':
    'When to back up, as Stash read it (robfig/cron v2): 5 fields (6 with seconds), @hourly, @daily, @weekly, @monthly, @yearly or @every <duration>; an optional TZ=<zone> (or CRON_TZ=) prefix, UTC otherwise. At most once a minute.',
  'spec.volumeMounts': 'Where volumes are mounted; each name refers to one of spec.volumes.',
  'spec.volumes': 'The volumes spec.volumeMounts refer to: hostPath in local mode, efs on AWS, or emptyDir.',
  'spec.resources': 'Kubernetes resource requirements; on AWS they choose the Fargate task size.',
  'spec.paused': 'When true, no scheduled backups run.',
  'spec.useAutoPrefix': 'Stash 0.5; accepted and ignored: the repository path is exactly the backend prefix.',
  'spec.type': 'Stash 0.6 and later: online or offline. Both run the same here: there are no pods to stop, so offline backs up the volumes as they are.',
  'spec.imagePullSecrets': "Stash 0.7 and later; accepted and ignored: the runner's image is the stack's own.",
  'spec.startWindow': 'Go duration, at least 1m (default 1h): a scheduled run not started within it is recorded as missed.',
  'spec.timeout': 'Go duration (default 12h): a run still going after it is stopped and recorded as timed-out.',
  'spec.sharedRepository': "When true, the repository is shared with something outside this project: its locks are left alone and waited for. Otherwise a lock a run meets is a dead run's, and is removed.",
  'spec.check': 'restic check on a schedule of its own.',
  'spec.check.schedule': 'When to check, in the syntax of spec.schedule (default 0 0 */3 * *, midnight UTC on days 1, 4, ..., 31, as Stash checked).',
  'spec.check.readDataSubset': 'Also read this part of the data: n/t (1 <= n <= t <= 256), a percentage above 0% and at most 100% such as 10%, or a size with a unit such as 500M (restic --read-data-subset).',
  'spec.check.paused': 'When true, no scheduled checks run.',
  status: 'Written by the Stash controller on Kubernetes; accepted and ignored.',
};

/** Schemas that take exactly one of some optional fields, a rule zod checks in a refinement. */
const EXACTLY_ONE = new Map<unknown, readonly string[]>([
  [BackendSchema, BACKEND_KINDS],
  [VolumeSourceSchema, VOLUME_SOURCE_KINDS],
  [VolumeSchema, VOLUME_SOURCE_KINDS],
  [AnyVolumeSourceSchema, ANY_VOLUME_SOURCE_KINDS],
]);

/**
 * `backend.local` in JSON Schema's terms: where the volume is mounted (0.5's `path` or
 * `mountPath`) and exactly one source, under `volumeSource`/`VolumeSource` or inline. The
 * finer rules (0.5's `path` takes its source under `volumeSource`) are `stash validate`'s.
 */
const LOCAL_BACKEND_ONE_OF = [
  ...['volumeSource', 'VolumeSource'].flatMap((wrapper) => ['path', 'mountPath'].map((at) => ({ required: [at, wrapper] }))),
  ...ANY_VOLUME_SOURCE_KINDS.map((k) => ({ required: ['mountPath', k] })),
];

type JsonSchemaNode = Record<string, unknown>;

/**
 * The JSON Schema of a `Restic` document, as committed in `schemas/restic.schema.json`.
 *
 * @example
 * writeFileSync('restic.schema.json', `${JSON.stringify(resticJsonSchema(), null, 2)}\n`);
 */
export function resticJsonSchema(): object {
  const generated = z.toJSONSchema(ResticSchema, {
    target: 'draft-07',
    io: 'input',
    unrepresentable: ({ zodSchema, message }) => {
      // Only `metadata.creationTimestamp` and friends hold a Date, which YAML gives as a string.
      if (zodSchema._zod.def.type === 'date') return { type: 'string', format: 'date-time' };
      throw new Error(`the Restic schema has a type JSON Schema cannot express: ${message}`);
    },
    override: ({ zodSchema, jsonSchema }) => {
      const kinds = EXACTLY_ONE.get(zodSchema);
      if (kinds) jsonSchema.oneOf = kinds.map((k) => ({ required: [k] }));
      if (zodSchema === LocalBackendSchema) jsonSchema.oneOf = LOCAL_BACKEND_ONE_OF;
    },
  }) as JsonSchemaNode;
  const { $schema, ...rest } = generated;
  const schema: JsonSchemaNode = {
    $schema,
    $id: RESTIC_SCHEMA_ID,
    title: 'Restic',
    description:
      "Stash's Restic spec (stash.appscode.com/v1alpha1): what to back up with restic, where to and when. Accepted as written for Kubernetes in Stash 0.5 to 0.8, plus the volumes, startWindow, timeout, sharedRepository and check extensions.",
    ...rest,
  };
  for (const [path, description] of Object.entries(FIELD_DESCRIPTIONS)) {
    const node = fieldAt(schema, path);
    if (!node) throw new Error(`FIELD_DESCRIPTIONS names "${path}", which is not a field of the Restic schema`);
    // First in the node, where a reader of the file looks for it.
    const keywords = Object.entries(node);
    for (const [key] of keywords) delete node[key];
    Object.assign(node, { description }, Object.fromEntries(keywords));
  }
  return schema;
}

/** The schema node of a dotted field path such as `spec.fileGroups[].path`. */
function fieldAt(root: JsonSchemaNode, path: string): JsonSchemaNode | undefined {
  let node: JsonSchemaNode | undefined = root;
  for (const part of path.split('.')) {
    const list = part.endsWith('[]');
    const name = list ? part.slice(0, -2) : part;
    node = (node?.properties as Record<string, JsonSchemaNode> | undefined)?.[name];
    if (list) node = node?.items as JsonSchemaNode | undefined;
  }
  return node;
}

/** The file's content: 2-space JSON and a final newline, so regenerating changes nothing. */
export function resticJsonSchemaText(): string {
  return `${JSON.stringify(resticJsonSchema(), null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(RESTIC_SCHEMA_FILE, resticJsonSchemaText());
  console.log(`wrote ${RESTIC_SCHEMA_FILE}`);
}
