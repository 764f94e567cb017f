/**
 * Task definition revisions per volume set. RunTask cannot override volumes, so a run that
 * needs EFS volumes gets a task definition copied from the stack's base revision with the
 * volumes and the runner's mount points added, in a family named by a content hash:
 * `<TASK_FAMILY>-<hash of base ARN + volumes>`.
 *
 * An idempotent ensure: the family is looked up before registering (a cold start finds what
 * an earlier container registered), and kept in memory while warm. A new base revision (a new
 * runner image) hashes differently, so runs pick it up; the copies of older base revisions are
 * superseded, and {@link TaskDefinitions.deregisterSuperseded} retires them. Each copy names
 * the base it was made from in its runner container's Docker label {@link BASE_LABEL}.
 *
 * ```
 * base Stash-runner:7  ──copy + volumes──▶  Stash-runner-<hash(:7, set A)>:1   (label base = ...:7)
 * deploy: base :8      ──copy + volumes──▶  Stash-runner-<hash(:8, set A)>:1
 *                                           Stash-runner-<hash(:7, set A)>:1   superseded: deregistered
 * ```
 */
import { createHash } from 'node:crypto';
import {
  DeregisterTaskDefinitionCommand,
  DescribeTaskDefinitionCommand,
  ListTaskDefinitionsCommand,
  RegisterTaskDefinitionCommand,
  type ContainerDefinition,
  type ECSClient,
  type LogConfiguration,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import { errorMessage, StashError } from '../core/errors';
import type { TaskVolumes } from './task-volumes';

/** The Docker label of a copy's runner container that names the base revision it was made from. */
export const BASE_LABEL = 'stash.base-task-definition';

/** Raised when a task definition cannot be found or registered. */
export class TaskDefinitionError extends StashError {}

/** The stack's runner task definition and what a copy keeps. */
export interface TaskDefinitionConfig {
  /** The base revision (the stack's), used as is for runs without volumes. */
  readonly taskDefinitionArn: string;
  readonly taskFamily: string;
  readonly containerName: string;
  readonly taskRoleArn: string;
  readonly executionRoleArn: string;
  /** The runner's log group; copies log there whatever the base says. */
  readonly logGroup: string;
}

/** The family name of a volume set's task definition. */
export function volumeSetFamily(config: Pick<TaskDefinitionConfig, 'taskDefinitionArn' | 'taskFamily'>, set: TaskVolumes): string {
  const hash = createHash('sha256')
    .update(JSON.stringify({ base: config.taskDefinitionArn, volumes: set.volumes, mountPoints: set.mountPoints }))
    .digest('hex')
    .slice(0, 16);
  return `${config.taskFamily}-${hash}`;
}

const isMissing = (err: unknown) => {
  const e = err as { name?: string; message?: string };
  return e?.name === 'ClientException' && /unable to describe task definition|not found|does not exist/i.test(e.message ?? '');
};

/** Finds or registers task definitions by volume set; one instance per warm container. */
export class TaskDefinitions {
  private readonly known = new Map<string, Promise<string>>();
  private base?: Promise<TaskDefinition>;
  /** Registrations made, for log lines and tests. */
  registered = 0;

  constructor(
    private readonly client: ECSClient,
    private readonly config: TaskDefinitionConfig,
  ) {}

  /** The task definition ARN for a volume set: the base revision when the set is empty. */
  ensure(set: TaskVolumes): Promise<string> {
    if (!set.volumes.length) return Promise.resolve(this.config.taskDefinitionArn);
    const family = volumeSetFamily(this.config, set);
    let arn = this.known.get(family);
    if (!arn) {
      arn = this.findOrRegister(family, set);
      this.known.set(family, arn);
      arn.catch(() => this.known.delete(family));
    }
    return arn;
  }

  private async findOrRegister(family: string, set: TaskVolumes): Promise<string> {
    try {
      const found = await this.client.send(new DescribeTaskDefinitionCommand({ taskDefinition: family }));
      if (found.taskDefinition?.status === 'ACTIVE' && found.taskDefinition.taskDefinitionArn) return found.taskDefinition.taskDefinitionArn;
    } catch (err) {
      if (!isMissing(err)) throw new TaskDefinitionError(`failed to look up task definition ${family}: ${errorMessage(err)}`, { cause: err });
    }
    const base = await this.baseDefinition();
    const containers = base.containerDefinitions ?? [];
    if (!containers.some((c) => c.name === this.config.containerName)) {
      throw new TaskDefinitionError(`task definition ${this.config.taskDefinitionArn} has no container named "${this.config.containerName}"`);
    }
    try {
      const res = await this.client.send(
        new RegisterTaskDefinitionCommand({
          family,
          taskRoleArn: this.config.taskRoleArn,
          executionRoleArn: this.config.executionRoleArn,
          networkMode: base.networkMode ?? 'awsvpc',
          requiresCompatibilities: ['FARGATE'],
          cpu: base.cpu,
          memory: base.memory,
          ...(base.runtimePlatform ? { runtimePlatform: base.runtimePlatform } : {}),
          ...(base.ephemeralStorage ? { ephemeralStorage: base.ephemeralStorage } : {}),
          containerDefinitions: containers.map((c) => (c.name === this.config.containerName ? this.withMounts(c, set) : c)),
          volumes: [...(base.volumes ?? []), ...set.volumes],
        }),
      );
      this.registered++;
      const arn = res.taskDefinition?.taskDefinitionArn;
      if (!arn) throw new TaskDefinitionError(`registering ${family} returned no ARN`);
      return arn;
    } catch (err) {
      if (err instanceof TaskDefinitionError) throw err;
      throw new TaskDefinitionError(`failed to register task definition ${family}: ${errorMessage(err)}`, { cause: err });
    }
  }

  private withMounts(container: ContainerDefinition, set: TaskVolumes): ContainerDefinition {
    return {
      ...container,
      mountPoints: [...(container.mountPoints ?? []), ...set.mountPoints],
      logConfiguration: this.logTo(container.logConfiguration),
      dockerLabels: { ...container.dockerLabels, [BASE_LABEL]: this.config.taskDefinitionArn },
    };
  }

  /**
   * Deregisters the copies made from another base revision than the current one (the runner
   * image or settings changed since): ACTIVE revisions of `<family>-<hash>` families whose
   * runner container's {@link BASE_LABEL} is not {@link TaskDefinitionConfig.taskDefinitionArn}.
   * Tasks already running keep running. Returns the ARNs it deregistered.
   */
  async deregisterSuperseded(): Promise<string[]> {
    const family = this.config.taskFamily;
    const isCopy = (arn: string) => {
      const name = arn.split('/').pop()?.split(':')[0] ?? '';
      return name.startsWith(`${family}-`) && /^[0-9a-f]{16}$/.test(name.slice(family.length + 1));
    };
    const arns: string[] = [];
    let nextToken: string | undefined;
    try {
      do {
        const page = await this.client.send(new ListTaskDefinitionsCommand({ familyPrefix: `${family}-`, status: 'ACTIVE', nextToken }));
        arns.push(...(page.taskDefinitionArns ?? []).filter(isCopy));
        nextToken = page.nextToken;
      } while (nextToken);
      const retired: string[] = [];
      for (const arn of arns) {
        const { taskDefinition } = await this.client.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn }));
        const runner = taskDefinition?.containerDefinitions?.find((c) => c.name === this.config.containerName);
        if (runner?.dockerLabels?.[BASE_LABEL] === this.config.taskDefinitionArn) continue;
        await this.client.send(new DeregisterTaskDefinitionCommand({ taskDefinition: arn }));
        retired.push(arn);
      }
      return retired;
    } catch (err) {
      throw new TaskDefinitionError(`failed to retire superseded task definitions of ${family}: ${errorMessage(err)}`, { cause: err });
    }
  }

  private logTo(log: LogConfiguration | undefined): LogConfiguration | undefined {
    if (!log || log.logDriver !== 'awslogs') return log;
    return { ...log, options: { ...log.options, 'awslogs-group': this.config.logGroup } };
  }

  private baseDefinition(): Promise<TaskDefinition> {
    if (!this.base) {
      this.base = this.client
        .send(new DescribeTaskDefinitionCommand({ taskDefinition: this.config.taskDefinitionArn }))
        .then((res) => {
          if (!res.taskDefinition) throw new TaskDefinitionError(`task definition ${this.config.taskDefinitionArn} not found`);
          return res.taskDefinition;
        })
        .catch((err: unknown) => {
          this.base = undefined;
          if (err instanceof TaskDefinitionError) throw err;
          throw new TaskDefinitionError(`failed to describe the base task definition ${this.config.taskDefinitionArn}: ${errorMessage(err)}`, { cause: err });
        });
    }
    return this.base;
  }
}
