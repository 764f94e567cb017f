import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { acknowledgeLogGroup, guardFinding } from './nag';

/** Properties of {@link EfsFileSystemPolicies}. */
export interface EfsFileSystemPoliciesProps {
  /** File systems specs back up: the runner is denied `ClientWrite` on them. */
  readonly sources: readonly string[];
  /** File systems the runner writes (repositories and restore targets). */
  readonly writable: readonly string[];
  /** The role the runner mounts EFS with. */
  readonly taskRole: iam.IRole;
  /**
   * Retention of the log group of the function that applies the policies.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The file-system policy that makes IAM decide who mounts and writes a file system: the
 * account's principals, each as far as its own IAM policy allows, through a mount target
 * only (anonymous NFS clients are refused), and for a source never the runner's task role.
 * The one definition of what docs/deploy.md tells users to apply.
 */
export function efsFileSystemPolicy(accountRootArn: string, taskRoleArn: string, source: boolean): Record<string, unknown> {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'IamDecides',
        Effect: 'Allow',
        Principal: { AWS: accountRootArn },
        Action: ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite', 'elasticfilesystem:ClientRootAccess'],
        Condition: { Bool: { 'elasticfilesystem:AccessedViaMountTarget': 'true' } },
      },
      ...(source ? [{ Sid: 'StashNeverWritesThisSource', Effect: 'Deny', Principal: { AWS: taskRoleArn }, Action: 'elasticfilesystem:ClientWrite' }] : []),
    ],
  };
}

/**
 * Applies {@link efsFileSystemPolicy} to each file system the stack names (the
 * `efsFileSystemPolicies=true` setting): the stack does not own the file systems, so a custom
 * resource calls `PutFileSystemPolicy`, replacing whatever policy each had. On stack deletion
 * the policies stay (removing them would let every client write again).
 */
export class EfsFileSystemPolicies extends Construct {
  constructor(scope: Construct, id: string, props: EfsFileSystemPoliciesProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const logGroup = new logs.LogGroup(this, 'LogGroup', { retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS });
    acknowledgeLogGroup(logGroup, props.logRetention ?? logs.RetentionDays.THREE_MONTHS);
    const fileSystems = [...props.sources.map((fs) => [fs, true] as const), ...props.writable.map((fs) => [fs, false] as const)];
    for (const [fileSystemId, source] of fileSystems) {
      const arn = stack.formatArn({ service: 'elasticfilesystem', resource: 'file-system', resourceName: fileSystemId });
      const put: cr.AwsSdkCall = {
        service: 'EFS',
        action: 'putFileSystemPolicy',
        parameters: { FileSystemId: fileSystemId, Policy: stack.toJsonString(efsFileSystemPolicy(new iam.AccountRootPrincipal().arn, props.taskRole.roleArn, source)) },
        physicalResourceId: cr.PhysicalResourceId.of(`${fileSystemId}-policy`),
      };
      new cr.AwsCustomResource(this, fileSystemId, {
        onCreate: put,
        onUpdate: put,
        policy: cr.AwsCustomResourcePolicy.fromStatements([new iam.PolicyStatement({ actions: ['elasticfilesystem:PutFileSystemPolicy'], resources: [arn] })]),
        installLatestAwsSdk: false,
        logGroup,
      });
    }
    // The function CDK provides for AwsCustomResource, one per stack.
    const provider = stack.node.findChild(`AWS${cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, '')}`);
    Validations.of(provider).acknowledge(
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: "CDK's AwsCustomResource function writes its logs with AWS's basic execution policy; its only other grant is PutFileSystemPolicy on the named file systems.",
      },
      {
        id: guardFinding('lambda_inside_vpc_check'),
        reason: "CDK's AwsCustomResource function calls the EFS API only, at deploy time, and reaches nothing inside the VPC.",
      },
    );
  }
}
