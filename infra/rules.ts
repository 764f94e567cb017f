import { Duration, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { ConfigBucket } from './config-bucket';
import type { Functions } from './functions';
import { checkTickMinutes } from '../core/limits';
import { guardFinding } from './nag';

/** Properties of {@link Rules}. */
export interface RulesProps {
  readonly functions: Functions;
  readonly configBucket: ConfigBucket;
  /** The cluster whose stopped tasks are recorded. */
  readonly cluster: ecs.ICluster;
  /**
   * Minutes between two dispatcher ticks.
   * @default 1
   */
  readonly tickMinutes?: number;
}

/**
 * What wakes the functions, and where an event that could not be handled ends up:
 *
 * ```
 * rate(N minutes) ──────────────────────────────▶ dispatch
 * ECS Task State Change, STOPPED, our cluster ──▶ record    ─┐ failed after retries
 * S3 Object Created/Deleted under specs/ ───────▶ validate  ─┤ (delivery, or the function)
 *                                                            ▼
 *                                                  dead-letter queue ──▶ alarm
 * ```
 *
 * A tick is worth nothing a minute late (the next one covers the same window), so dispatch
 * gets no Lambda retries and its events expire after a minute; its failures show in the
 * dispatch-errors alarm. Record and validate events are retried, then kept in the queue.
 */
export class Rules extends Construct {
  public readonly tick: events.Rule;
  public readonly taskStopped: events.Rule;
  public readonly specChanged: events.Rule;
  public readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: RulesProps) {
    super(scope, id);
    const tickMinutes = checkTickMinutes(props.tickMinutes ?? 1);
    const { functions, configBucket } = props;

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const isDeadLetterQueue = "This queue is the dead-letter queue of the rule targets and of the functions' async invocations.";
    Validations.of(this.deadLetterQueue).acknowledge(
      { id: 'AwsSolutions-SQS3', reason: isDeadLetterQueue },
      { id: guardFinding('sqs_dlq_check'), reason: `${isDeadLetterQueue} A message that reaches it stays 14 days and raises the dead-letters alarm.` },
    );

    this.tick = new events.Rule(this, 'Tick', {
      description: 'Stash: wake the dispatcher',
      schedule: events.Schedule.rate(Duration.minutes(tickMinutes)),
    });
    this.tick.addTarget(this.target(functions.dispatch.function, 2, Duration.minutes(tickMinutes)));

    this.taskStopped = new events.Rule(this, 'TaskStopped', {
      description: 'Stash: record a runner task that stopped',
      eventPattern: {
        source: ['aws.ecs'],
        detailType: ['ECS Task State Change'],
        detail: { clusterArn: [props.cluster.clusterArn], lastStatus: ['STOPPED'] },
      },
    });
    this.taskStopped.addTarget(this.target(functions.record.function, 8, Duration.hours(24)));

    this.specChanged = new events.Rule(this, 'SpecChanged', {
      description: 'Stash: validate a spec as soon as it is uploaded or deleted',
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created', 'Object Deleted'],
        detail: {
          bucket: { name: [configBucket.bucket.bucketName] },
          object: { key: [{ prefix: configBucket.specPrefix }] },
        },
      },
    });
    this.specChanged.addTarget(this.target(functions.validate.function, 4, Duration.hours(1)));

    // Lambda's own async retries: EventBridge hands an event over once the function accepts it.
    functions.dispatch.function.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.minutes(1) });
    for (const fn of [functions.record.function, functions.validate.function]) {
      fn.configureAsyncInvoke({ retryAttempts: 2, onFailure: new SqsDestination(this.deadLetterQueue) });
    }
  }

  /** `fn` as a rule target: EventBridge retries delivery, then leaves the event in the dead-letter queue. */
  private target(fn: lambda.IFunction, retryAttempts: number, maxEventAge: Duration): targets.LambdaFunction {
    return new targets.LambdaFunction(fn, { retryAttempts, maxEventAge, deadLetterQueue: this.deadLetterQueue });
  }
}
