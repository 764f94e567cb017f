/**
 * The AWS prices Stash's cost estimate uses (`npm run cost`, docs/deploy.md's cost section),
 * in one place: us-east-1 list prices, in US dollars, without free tiers, savings plans or
 * taxes. They are list prices as AWS published them on its pricing pages on {@link PRICES_AS_OF}:
 * check them against https://aws.amazon.com/pricing/ for your region before you rely on them.
 */

/** The day these prices were taken from AWS's pricing pages. */
export const PRICES_AS_OF = '2025-06-01';

/** The region these prices are for. */
export const PRICES_REGION = 'us-east-1';

/** Hours in the month AWS bills by (8,760 / 12). */
export const HOURS_PER_MONTH = 730;

/** What each billed thing costs, USD. */
export const PRICES = {
  /** Fargate, Linux on ARM (Graviton), per vCPU-hour. */
  fargateArmVcpuHour: 0.03238,
  /** Fargate, Linux on ARM, per GB of memory per hour. */
  fargateArmGbHour: 0.00356,
  /** Fargate ephemeral storage beyond the 20 GB included, per GB-hour. */
  fargateStorageGbHour: 0.000111,
  /** A public IPv4 address, per hour while it is attached (a task's, while it runs). */
  publicIpv4Hour: 0.005,
  /** An interface VPC endpoint, per endpoint per availability zone per hour. */
  interfaceEndpointAzHour: 0.01,
  /** Data an interface endpoint processes, per GB. */
  interfaceEndpointGb: 0.01,
  /** A NAT gateway, per hour. */
  natGatewayHour: 0.045,
  /** Data a NAT gateway processes, per GB. */
  natGatewayGb: 0.045,
  /** Data out of AWS to the internet (a backend outside AWS), per GB, first 10 TB a month. */
  internetOutGb: 0.09,
  /** A KMS customer managed key, per month. */
  kmsKeyMonth: 1,
  /** A standard-resolution CloudWatch alarm, per metric it evaluates, per month. */
  alarmMetricMonth: 0.1,
  /** A CloudWatch dashboard, per month (an account's first three are free). */
  dashboardMonth: 3,
  /** A custom CloudWatch metric, per month, prorated by the hours it receives data. */
  customMetricMonth: 0.3,
  /** CloudWatch Logs ingestion (standard class), per GB. */
  logIngestionGb: 0.5,
  /** Lambda requests, per request ($0.20 per million). */
  lambdaRequest: 0.2 / 1_000_000,
  /** Lambda duration on ARM, per GB-second. */
  lambdaArmGbSecond: 0.0000133334,
  /** S3 Standard PUT, COPY, POST and LIST requests, per request ($0.005 per 1,000). */
  s3WriteOrListRequest: 0.005 / 1000,
  /** S3 Standard GET and other requests, per request ($0.0004 per 1,000). */
  s3ReadRequest: 0.0004 / 1000,
  /** A Secrets Manager secret, per month. */
  secretMonth: 0.4,
} as const;

/** CloudWatch Logs bills each log event as its message plus this many bytes. */
export const LOG_EVENT_OVERHEAD_BYTES = 26;
