/**
 * The EventBridge events the handlers take, as zod schemas: only the fields we use are
 * required, everything else passes through, so a new field in an AWS event never breaks us.
 */
import * as z from '../../schemas/zod';
import { StashError } from '../core/errors';

/** Raised when an event is not the shape a handler expects (a wrong rule target). */
export class EventError extends StashError {}

const isoOrDate = z.union([z.string(), z.date().transform((d) => d.toISOString())]);

/** `detail-type: "Scheduled Event"` from a `rate(1 minute)` rule. */
export const ScheduledEventSchema = z.looseObject({
  'detail-type': z.string().optional(),
  time: z.string().optional(),
});
export type ScheduledEvent = z.infer<typeof ScheduledEventSchema>;

const ContainerSchema = z.looseObject({
  name: z.string(),
  exitCode: z.number().nullish(),
  reason: z.string().nullish(),
  lastStatus: z.string().optional(),
});

/** `detail-type: "ECS Task State Change"`. */
export const EcsTaskStateChangeSchema = z.looseObject({
  'detail-type': z.literal('ECS Task State Change'),
  source: z.literal('aws.ecs'),
  time: z.string().optional(),
  detail: z.looseObject({
    taskArn: z.string(),
    clusterArn: z.string().optional(),
    group: z.string().optional(),
    startedBy: z.string().optional(),
    lastStatus: z.string().optional(),
    stopCode: z.string().optional(),
    stoppedReason: z.string().optional(),
    createdAt: isoOrDate.optional(),
    startedAt: isoOrDate.optional(),
    stoppingAt: isoOrDate.optional(),
    stoppedAt: isoOrDate.optional(),
    containers: z.array(ContainerSchema).default([]),
    overrides: z
      .looseObject({
        containerOverrides: z
          .array(
            z.looseObject({
              name: z.string().optional(),
              environment: z.array(z.looseObject({ name: z.string().optional(), value: z.string().optional() })).optional(),
            }),
          )
          .optional(),
      })
      .optional(),
  }),
});
export type EcsTaskStateChange = z.infer<typeof EcsTaskStateChangeSchema>;

/** `detail-type: "Object Created"` or `"Object Deleted"` from an S3 bucket with EventBridge on. */
export const S3ObjectEventSchema = z.looseObject({
  'detail-type': z.enum(['Object Created', 'Object Deleted']),
  source: z.literal('aws.s3'),
  time: z.string().optional(),
  detail: z.looseObject({
    bucket: z.looseObject({ name: z.string() }),
    object: z.looseObject({
      key: z.string(),
      'version-id': z.string().optional(),
      etag: z.string().optional(),
      size: z.number().optional(),
      sequencer: z.string().optional(),
    }),
    reason: z.string().optional(),
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
