/**
 * The EventBridge events the handlers take, as zod schemas: only the fields we use are
 * required, everything else passes through, so a new field in an AWS event never breaks us.
 */
import * as z from '../schemas/zod';
import { StashError } from '../core/errors';

/** Raised when an event is not the shape a handler expects (a wrong rule target). */
export class EventError extends StashError {}

const isoOrDate = z.union([z.string(), z.pipe(z.date(), z.transform((d: Date) => d.toISOString()))]);

/** `detail-type: "Scheduled Event"` from a `rate(1 minute)` rule. */
export const ScheduledEventSchema = z.looseObject({
  'detail-type': z.optional(z.string()),
  time: z.optional(z.string()),
});
export type ScheduledEvent = z.infer<typeof ScheduledEventSchema>;

const ContainerSchema = z.looseObject({
  name: z.string(),
  exitCode: z.nullish(z.number()),
  reason: z.nullish(z.string()),
  lastStatus: z.optional(z.string()),
});

/** `detail-type: "ECS Task State Change"`. */
export const EcsTaskStateChangeSchema = z.looseObject({
  'detail-type': z.literal('ECS Task State Change'),
  source: z.literal('aws.ecs'),
  time: z.optional(z.string()),
  detail: z.looseObject({
    taskArn: z.string(),
    clusterArn: z.optional(z.string()),
    group: z.optional(z.string()),
    startedBy: z.optional(z.string()),
    lastStatus: z.optional(z.string()),
    stopCode: z.optional(z.string()),
    stoppedReason: z.optional(z.string()),
    createdAt: z.optional(isoOrDate),
    startedAt: z.optional(isoOrDate),
    stoppingAt: z.optional(isoOrDate),
    stoppedAt: z.optional(isoOrDate),
    containers: z._default(z.array(ContainerSchema), []),
    overrides: z.optional(
      z.looseObject({
        containerOverrides: z.optional(
          z.array(
            z.looseObject({
              name: z.optional(z.string()),
              environment: z.optional(z.array(z.looseObject({ name: z.optional(z.string()), value: z.optional(z.string()) }))),
            }),
          ),
        ),
      }),
    ),
  }),
});
export type EcsTaskStateChange = z.infer<typeof EcsTaskStateChangeSchema>;

/** `detail-type: "Object Created"` or `"Object Deleted"` from an S3 bucket with EventBridge on. */
export const S3ObjectEventSchema = z.looseObject({
  'detail-type': z.enum(['Object Created', 'Object Deleted']),
  source: z.literal('aws.s3'),
  time: z.optional(z.string()),
  detail: z.looseObject({
    bucket: z.looseObject({ name: z.string() }),
    object: z.looseObject({
      key: z.string(),
      'version-id': z.optional(z.string()),
      etag: z.optional(z.string()),
      size: z.optional(z.number()),
      sequencer: z.optional(z.string()),
    }),
    reason: z.optional(z.string()),
  }),
});
export type S3ObjectEvent = z.infer<typeof S3ObjectEventSchema>;

/** Parses an event; the error names the fields that did not match and the expected event. */
export function parseEvent<S extends z.ZodType>(schema: S, event: unknown, what: string): z.output<S> {
  const result = schema.safeParse(event);
  if (result.success) return result.data;
  const fields = result.error.issues.map((i) => `${i.path.join('.') || '(event)'}: ${i.message}`).join('; ');
  throw new EventError(`not ${what}: ${fields}`);
}
