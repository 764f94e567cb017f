import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { fileURLToPath } from 'node:url';
import { parseStashSettings, type StashSettings, type StashSettingsInput } from './config';
import { ConfigBucket } from './config-bucket';
import { Functions } from './functions';
import { Network } from './network';
import { EfsFileSystemPolicies } from './efs-file-system-policies';
import { Observability } from './observability';
import { OperatorRole } from './operator-role';
import { Rules } from './rules';
import { Runner } from './runner';

/** The repository root: `package-lock.json`, `lambda/`, `container/`. */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Properties of {@link StashStack}. */
export interface StashStackProps extends StackProps {
  /**
   * The user's settings (usually read from CDK context), validated before anything is built.
   * @default - every default: see `StashSettingsInput`
   */
  readonly settings?: StashSettingsInput;
  /**
   * Directory with `package-lock.json`; the handlers are bundled from there.
   * @default PROJECT_ROOT
   */
  readonly projectRoot?: string;
  /**
   * Directory of the handler entry files `dispatch.ts`, `record.ts`, `validate.ts`.
   * @default `${projectRoot}/lambda`
   */
  readonly handlersDirectory?: string;
  /**
   * Directory with the runner's Dockerfile.
   * @default `${projectRoot}/container`
   */
  readonly imageDirectory?: string;
}

/**
 * Stash, serverless: the config bucket, the network, the ECS cluster and runner task, the
 * three functions, the rules that wake them, and what to watch.
 */
export class StashStack extends Stack {
  public readonly configBucket: ConfigBucket;
  public readonly network: Network;
  public readonly runner: Runner;
  public readonly functions: Functions;
  public readonly rules: Rules;
  public readonly observability: Observability;
  public readonly operatorRole: OperatorRole;

  constructor(scope: Construct, id: string, props: StashStackProps = {}) {
    super(scope, id, { description: 'Stash, serverless: scheduled, encrypted restic backups of Restic specs', ...props });
    const settings = parseStashSettings(props.settings);
    const projectRoot = props.projectRoot ?? PROJECT_ROOT;
    const logRetention = settings.logRetentionDays as logs.RetentionDays;

    this.configBucket = new ConfigBucket(this, 'Config', {
      specPrefix: settings.specPrefix,
      noncurrentVersionDays: settings.noncurrentVersionDays,
      runHistoryDays: settings.logRetentionDays,
    });
    this.network = new Network(this, 'Network', {
      settings: settings.network,
      flowLogRetention: logRetention,
      repositoryBuckets: settings.s3RepositoryBuckets,
    });
    this.runner = new Runner(this, 'Runner', {
      vpc: this.network.vpc,
      configBucket: this.configBucket,
      secretPrefix: settings.secretPrefix,
      imageDirectory: props.imageDirectory ?? `${projectRoot}/container`,
      efsSources: settings.efsSources,
      efsRepositories: settings.efsRepositories,
      efsRestoreTargets: settings.efsRestoreTargets,
      cpu: settings.taskCpu,
      memoryLimitMiB: settings.taskMemoryMiB,
      maxCpu: settings.maxTaskCpu,
      maxMemoryLimitMiB: settings.maxTaskMemoryMiB,
      metricsNamespace: settings.metricsNamespace,
      logRetention,
    });
    this.functions = new Functions(this, 'Functions', {
      configBucket: this.configBucket,
      runner: this.runner,
      network: this.network,
      projectRoot,
      handlersDirectory: props.handlersDirectory,
      secretPrefix: settings.secretPrefix,
      metricsNamespace: settings.metricsNamespace,
      tickMinutes: settings.tickMinutes,
      logRetention,
    });
    this.rules = new Rules(this, 'Rules', {
      functions: this.functions,
      configBucket: this.configBucket,
      cluster: this.runner.cluster,
      tickMinutes: settings.tickMinutes,
    });
    this.operatorRole = new OperatorRole(this, 'OperatorRole', {
      configBucket: this.configBucket,
      runner: this.runner,
      secretPrefix: settings.secretPrefix,
    });
    this.restrictConfigWriters(settings);
    if (settings.efsFileSystemPolicies) {
      new EfsFileSystemPolicies(this, 'EfsFileSystemPolicies', {
        sources: this.runner.efsSources,
        writable: [...new Set([...this.runner.efsRepositories, ...this.runner.efsRestoreTargets])],
        taskRole: this.runner.taskRole,
        logRetention,
      });
    }
    this.observability = new Observability(this, 'Observability', {
      functions: this.functions,
      deadLetterQueue: this.rules.deadLetterQueue,
      runnerLogGroup: this.runner.logGroup,
      metricsNamespace: settings.metricsNamespace,
      tickMinutes: settings.tickMinutes,
      alarmEmail: settings.alarmEmail,
    });
    this.addOutputs(settings);
  }

  /**
   * The config bucket's boundary: specs are written by the operator role and the
   * `specWriters`; statuses by the three functions and the operator role (which marks what it
   * launches as running); the dispatcher's state by the dispatcher; run results by the task
   * and the record function. Nobody else, whatever their IAM policies say.
   */
  private restrictConfigWriters(settings: StashSettings): void {
    const fns = this.functions;
    const operator = this.operatorRole.roleArn;
    this.configBucket.restrictWriters({
      specs: [operator, ...settings.specWriters],
      status: [fns.dispatch.role.roleArn, fns.record.role.roleArn, fns.validate.role.roleArn, operator],
      state: [fns.dispatch.role.roleArn],
      runs: [this.runner.taskRole.roleArn, fns.record.role.roleArn],
    });
  }

  /** What a user needs after `cdk deploy`: where to upload specs and secrets, and what to watch. */
  private addOutputs(settings: StashSettings): void {
    new CfnOutput(this, 'ConfigBucketName', {
      description: `Upload Restic specs under s3://<bucket>/${settings.specPrefix}; status appears under status/`,
      value: this.configBucket.bucket.bucketName,
    });
    new CfnOutput(this, 'SecretPrefix', {
      description: 'Create each spec\'s storageSecretName as a Secrets Manager secret with this prefix',
      value: settings.secretPrefix,
    });
    new CfnOutput(this, 'OperatorRoleArn', {
      description: 'Assume this role to upload specs and run the stash CLI against the stack (or name yourself in specWriters)',
      value: this.operatorRole.roleArn,
    });
    new CfnOutput(this, 'RunnerTaskRoleArn', {
      description: 'The role the runner mounts EFS with: deny it ClientWrite in the file-system policy of each source (docs/deploy.md)',
      value: this.runner.taskRole.roleArn,
    });
    new CfnOutput(this, 'RunnerLogGroupName', { value: this.runner.logGroup.logGroupName });
    new CfnOutput(this, 'ClusterName', { value: this.runner.cluster.clusterName });
    new CfnOutput(this, 'TaskSecurityGroupId', {
      description: 'Allow NFS (TCP 2049) from this group on the EFS mount targets the specs use',
      value: this.network.taskSecurityGroup.securityGroupId,
    });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.observability.topic.topicArn });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.rules.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'DashboardName', { value: this.observability.dashboard.dashboardName });
  }
}
