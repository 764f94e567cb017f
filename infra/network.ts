import { Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { NetworkSettings } from './config';
import { acknowledgeLogGroup } from './nag';

/** Properties of {@link Network}. */
export interface NetworkProps {
  /**
   * Which network the runner tasks use: an existing VPC and subnets, or a new VPC.
   * @default - a new VPC, one AZ, private isolated subnets and VPC endpoints
   */
  readonly settings?: NetworkSettings;
  /**
   * Retention of the VPC flow log (new VPC only).
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly flowLogRetention?: logs.RetentionDays;
  /**
   * Buckets of other accounts that the S3 gateway endpoint reaches besides this account's
   * own (restic repositories named by specs). New VPC only.
   * @default - none
   */
  readonly repositoryBuckets?: readonly string[];
}

/**
 * Where the runner tasks run and how they reach AWS and the backends.
 *
 * - `existing`: the VPC and subnets you name (where your EFS mount targets are). Their routes
 *   must reach ECR, CloudWatch Logs, Secrets Manager and S3 (a NAT gateway or endpoints).
 * - `new` / `endpoints`: private isolated subnets, no NAT gateway; an S3 gateway endpoint and
 *   interface endpoints for ECR (api, dkr), CloudWatch Logs and Secrets Manager. Backends in
 *   this region's S3 and on EFS work; backends on the internet do not.
 * - `new` / `nat`: private subnets with one NAT gateway (and the free S3 gateway endpoint).
 * - `new` / `public`: public subnets, tasks get a public IP (RunTask asks for it; the
 *   subnets assign none by themselves); inbound is closed by the security group.
 *
 * The tasks' security group allows no inbound traffic and all outbound (HTTPS to AWS and
 * backends, NFS to EFS mount targets). A new VPC's S3 gateway endpoint reaches only this
 * account's buckets, the `repositoryBuckets` named, and the bucket ECR serves image layers
 * from: a task cannot copy what it reads to a bucket elsewhere through it.
 */
export class Network extends Construct {
  public readonly vpc: ec2.IVpc;
  /** Subnets RunTask places the tasks in. */
  public readonly subnetIds: readonly string[];
  /** The stack's task security group. */
  public readonly taskSecurityGroup: ec2.SecurityGroup;
  /** Every security group RunTask attaches: ours, then the configured extra ones. */
  public readonly securityGroupIds: readonly string[];
  /** RunTask's `assignPublicIp`. */
  public readonly assignPublicIp: 'ENABLED' | 'DISABLED';
  /** The interface endpoints' security group (new VPC with `endpoints` egress only). */
  public readonly endpointSecurityGroup?: ec2.SecurityGroup;
  /** The S3 gateway endpoint (new VPC only). */
  public readonly s3Endpoint?: ec2.GatewayVpcEndpoint;

  constructor(scope: Construct, id: string, props: NetworkProps = {}) {
    super(scope, id);
    const settings: NetworkSettings = props.settings ?? { kind: 'new', egress: 'endpoints', maxAzs: 1 };
    if (settings.kind === 'existing' && settings.subnetIds.length === 0) {
      throw new Error(`Network: the existing VPC ${settings.vpcId} needs at least one subnet id`);
    }
    if (settings.kind === 'new' && !(settings.maxAzs >= 1 && settings.maxAzs <= 3)) {
      throw new Error(`Network: maxAzs ${settings.maxAzs} must be 1, 2 or 3`);
    }

    let newVpc: ec2.Vpc | undefined;
    if (settings.kind === 'existing') {
      // Built from ids alone, no lookup: synth needs no AWS credentials and no network.
      this.vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', {
        vpcId: settings.vpcId,
        availabilityZones: Fn.getAzs(),
      });
      this.subnetIds = settings.subnetIds;
      this.assignPublicIp = settings.assignPublicIp ? 'ENABLED' : 'DISABLED';
    } else {
      newVpc = this.newVpc(settings.egress, settings.maxAzs, props.flowLogRetention ?? logs.RetentionDays.THREE_MONTHS);
      this.vpc = newVpc;
      this.s3Endpoint = this.addS3Endpoint(newVpc, props.repositoryBuckets ?? []);
      const subnetType =
        settings.egress === 'public'
          ? ec2.SubnetType.PUBLIC
          : settings.egress === 'nat'
            ? ec2.SubnetType.PRIVATE_WITH_EGRESS
            : ec2.SubnetType.PRIVATE_ISOLATED;
      this.subnetIds = newVpc.selectSubnets({ subnetType }).subnetIds;
      this.assignPublicIp = settings.egress === 'public' ? 'ENABLED' : 'DISABLED';
    }

    this.taskSecurityGroup = new ec2.SecurityGroup(this, 'TaskSecurityGroup', {
      vpc: this.vpc,
      description: 'Stash runner tasks: no inbound; outbound to AWS APIs, backends and EFS (NFS)',
      allowAllOutbound: true,
    });
    this.securityGroupIds = [
      this.taskSecurityGroup.securityGroupId,
      ...(settings.kind === 'existing' ? settings.securityGroupIds : []),
    ];

    if (newVpc !== undefined && settings.kind === 'new' && settings.egress === 'endpoints') {
      this.endpointSecurityGroup = this.addInterfaceEndpoints(newVpc);
    }
  }

  /**
   * The S3 gateway endpoint, with a policy: buckets of this account (`aws:ResourceAccount`),
   * the repository buckets named, and ECR's layer bucket of this region (image pulls).
   */
  private addS3Endpoint(vpc: ec2.Vpc, repositoryBuckets: readonly string[]): ec2.GatewayVpcEndpoint {
    const endpoint = vpc.addGatewayEndpoint('S3', { service: ec2.GatewayVpcEndpointAwsService.S3 });
    const stack = Stack.of(this);
    endpoint.addToPolicy(
      new iam.PolicyStatement({
        sid: 'BucketsOfThisAccount',
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:ResourceAccount': stack.account } },
      }),
    );
    if (repositoryBuckets.length) {
      endpoint.addToPolicy(
        new iam.PolicyStatement({
          sid: 'RepositoryBucketsOfOtherAccounts',
          principals: [new iam.AnyPrincipal()],
          actions: ['s3:*'],
          resources: repositoryBuckets.flatMap((b) => [`arn:${stack.partition}:s3:::${b}`, `arn:${stack.partition}:s3:::${b}/*`]),
        }),
      );
    }
    endpoint.addToPolicy(
      new iam.PolicyStatement({
        sid: 'EcrImageLayers',
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:GetObject'],
        resources: [`arn:${stack.partition}:s3:::prod-${stack.region}-starport-layer-bucket/*`],
      }),
    );
    return endpoint;
  }

  /** The interface endpoints the tasks need without a NAT gateway, open to HTTPS from the tasks only (not the whole VPC). */
  private addInterfaceEndpoints(vpc: ec2.Vpc): ec2.SecurityGroup {
    const group = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
      vpc,
      description: 'Stash VPC interface endpoints: HTTPS from the runner tasks',
      allowAllOutbound: false,
    });
    group.addIngressRule(this.taskSecurityGroup, ec2.Port.tcp(443), 'HTTPS from Stash runner tasks');
    const services: Record<string, ec2.InterfaceVpcEndpointAwsService> = {
      EcrApi: ec2.InterfaceVpcEndpointAwsService.ECR,
      EcrDocker: ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
      Logs: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
      SecretsManager: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
    };
    for (const [name, service] of Object.entries(services)) {
      vpc.addInterfaceEndpoint(name, { service, privateDnsEnabled: true, open: false, securityGroups: [group] });
    }
    return group;
  }

  private newVpc(egress: 'endpoints' | 'nat' | 'public', maxAzs: number, flowLogRetention: logs.RetentionDays): ec2.Vpc {
    const subnetConfiguration: ec2.SubnetConfiguration[] =
      egress === 'public'
        ? [{ name: 'Public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: false }]
        : egress === 'nat'
          ? [
              { name: 'Public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 26, mapPublicIpOnLaunch: false },
              { name: 'Private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 24 },
            ]
          : [{ name: 'Private', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }];
    const vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr('10.64.0.0/20'),
      maxAzs,
      natGateways: egress === 'nat' ? 1 : 0,
      subnetConfiguration,
      // Left as created: emptying the default group's rules takes a custom resource (a Lambda),
      // and nothing in this VPC uses the default group.
      restrictDefaultSecurityGroup: false,
    });
    const flowLogGroup = new logs.LogGroup(this, 'FlowLogGroup', {
      retention: flowLogRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    acknowledgeLogGroup(flowLogGroup, flowLogRetention);
    vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogGroup),
      trafficType: ec2.FlowLogTrafficType.REJECT,
    });

    return vpc;
  }
}
