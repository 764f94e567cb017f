import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { ConfigError } from '../core/errors';
import { isEfsId } from '../schemas/restic';
import { DEFAULT_SECRET_PREFIX } from '../schemas/secret';
import type { ConfigBucket } from './config-bucket';
import { checkSecretPrefix, grantReadSecrets } from './secrets';

/** Properties of {@link RunnerTaskRole}. */
export interface RunnerTaskRoleProps {
  /** The config bucket: the task reads specs and writes status there. */
  readonly configBucket: ConfigBucket;
  /**
   * Secrets Manager name prefix; the task may read only secrets under it.
   * @default DEFAULT_SECRET_PREFIX ('stash/')
   */
  readonly secretPrefix?: string;
  /**
   * EFS file systems specs may back up: mount and read as root, no write.
   * @default - none
   */
  readonly efsSources?: readonly string[];
  /**
   * EFS file systems that may hold `local` backend repositories: mount, read and write.
   * @default - none
   */
  readonly efsRepositories?: readonly string[];
  /**
   * EFS file systems a `Recovery` may restore into: mount, read and write.
   * @default - none
   */
  readonly efsRestoreTargets?: readonly string[];
}

/**
 * What the runner may do: read specs, store run results, read secrets under the secret
 * prefix, and mount the configured EFS file systems: sources without `ClientWrite` (a backup
 * cannot change what it backs up), repositories and restore targets with it. A source is
 * never also a repository or a restore target.
 */
export class RunnerTaskRole extends iam.Role {
  /** EFS file systems specs may back up. */
  public readonly efsSources: readonly string[];
  /** EFS file systems that may hold `local` repositories. */
  public readonly efsRepositories: readonly string[];
  /** EFS file systems a Recovery may restore into. */
  public readonly efsRestoreTargets: readonly string[];

  constructor(scope: Construct, id: string, props: RunnerTaskRoleProps) {
    const secretPrefix = checkSecretPrefix(props.secretPrefix ?? DEFAULT_SECRET_PREFIX);
    const sources = [...new Set(props.efsSources ?? [])];
    const repositories = [...new Set(props.efsRepositories ?? [])];
    const restoreTargets = [...new Set(props.efsRestoreTargets ?? [])];
    const writable = [...new Set([...repositories, ...restoreTargets])];
    for (const fs of [...sources, ...writable]) {
      if (!isEfsId(fs)) throw new ConfigError(`RunnerTaskRole: "${fs}" is not an EFS file system id (fs-0123abcd...)`);
    }
    const both = sources.filter((fs) => writable.includes(fs));
    if (both.length) {
      throw new ConfigError(`RunnerTaskRole: ${both.join(', ')} cannot be both a source and a repository or restore target: a source is never mounted writable`);
    }
    super(scope, id, {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: 'Stash runner: read specs and secrets under the prefix, store run results, mount the allowed EFS',
    });
    this.efsSources = sources;
    this.efsRepositories = repositories;
    this.efsRestoreTargets = restoreTargets;

    const bucket = props.configBucket;
    bucket.grantReadSpecs(this);
    bucket.grantWriteRuns(this);
    grantReadSecrets(this, secretPrefix, `Only secrets named ${secretPrefix}<storageSecretName>; the names come from the specs, not known at deploy time.`);
    this.grantMount('MountEfsSources', sources, ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientRootAccess']);
    this.grantMount('MountEfsRepositoriesAndRestoreTargets', writable, [
      'elasticfilesystem:ClientMount',
      'elasticfilesystem:ClientWrite',
      'elasticfilesystem:ClientRootAccess',
    ]);

    Validations.of(this).acknowledge({
      id: bucket.wildcardFinding(bucket.specPrefix),
      reason: 'Any spec may be run: the task loads the spec object (at its version) that the dispatcher names.',
    });
    Validations.of(this).acknowledge({
      id: bucket.wildcardFinding(bucket.runsPrefix),
      reason: 'The task stores the results of its run as runs/<spec>/<run>.json; spec names are not known at deploy time.',
    });
  }

  /** Lets the task mount `fileSystems` through their mount targets, with `actions`; nothing when there are none. */
  private grantMount(sid: string, fileSystems: readonly string[], actions: string[]): void {
    if (fileSystems.length === 0) return;
    const stack = Stack.of(this);
    this.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid,
        actions,
        resources: fileSystems.map((fs) => stack.formatArn({ service: 'elasticfilesystem', resource: 'file-system', resourceName: fs })),
        conditions: { Bool: { 'elasticfilesystem:AccessedViaMountTarget': 'true' } },
      }),
    );
  }
}
