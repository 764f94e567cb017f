/**
 * The smallest valid Restic that the spec tests edit into each case: one fileGroup, an S3
 * backend, hourly.
 */
export const DEMO_SPEC = {
  apiVersion: 'stash.appscode.com/v1alpha1',
  kind: 'Restic',
  metadata: { name: 'demo' },
  spec: {
    fileGroups: [{ path: '/data' }],
    backend: { s3: { endpoint: 's3.amazonaws.com', bucket: 'demo-bucket' }, storageSecretName: 's3-secret' },
    schedule: '@every 1h',
  },
};

/** A spec document as a test edits it: any shape, right or wrong. */
export type Doc = { [key: string]: any };

/** A copy of {@link DEMO_SPEC} after `edit` changed it. */
export function editedSpec(edit: (doc: Doc) => void = () => {}): Doc {
  const doc = structuredClone(DEMO_SPEC) as Doc;
  edit(doc);
  return doc;
}
