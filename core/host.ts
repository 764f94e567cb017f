/**
 * The restic host of a spec's snapshots. Backups, retention (`restic forget --host`) and
 * restores all select snapshots by host, so the host is what ties a spec to its snapshots. It
 * is the spec's name, unless the annotation {@link RESTIC_HOST_ANNOTATION} names another: a
 * renamed spec keeps its snapshots, and its retention policy keeps applying to them, by
 * naming its old name there.
 *
 * ```yaml
 * metadata:
 *   name: home-laptop                       # renamed from "home"
 *   annotations:
 *     stash-serverless/restic-host: home    # its snapshots are still home's
 * ```
 */
import type { Restic } from '../schemas/restic';

/** The annotation that names a spec's restic host (our extension; Stash has no such thing). */
export const RESTIC_HOST_ANNOTATION = 'stash-serverless/restic-host';

/** The spec's restic host: the annotation's value when it has one (not blank), else the spec's name. */
export function resticHost(spec: Restic): string {
  const annotated = spec.metadata.annotations?.[RESTIC_HOST_ANNOTATION]?.trim();
  return annotated ? annotated : spec.metadata.name;
}
