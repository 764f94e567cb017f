/** Whether a `--specs`, `--secrets` or `--state` value names a store of the deployed stack (s3:// or sm://). */
export function isRemote(value: string | undefined): boolean {
  return !!value && /^(s3|sm):\/\//.test(value);
}
