/**
 * Every AWS call a component makes in a test, captured where it leaves the code, for the IAM
 * evaluation (`iam-check.ts`):
 *
 * - in-process SDK clients built by {@link CallRecorder} carry a middleware that records the
 *   command, its input and how it ended;
 * - ECS clients are stood in by aws-sdk-client-mock, which bypasses the middleware: their
 *   calls are read from the mock, attributed by client instance;
 * - a process (the runner bundle, the `stash` command) is pointed with `AWS_ENDPOINT_URL` at
 *   a {@link RecordingProxy} in front of moto_server, one per component, which records each
 *   request (and can inject faults, which moto cannot).
 */
import http from 'node:http';
import { ECSClient } from '@aws-sdk/client-ecs';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { SecretsManagerClient, type SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import type { AwsStub } from 'aws-sdk-client-mock';
import type { InitializeMiddleware, MetadataBearer } from '@smithy/types';

/** Who makes a call: the stack's components, as the template gives each its role. */
export type Component = 'dispatch' | 'record' | 'validate' | 'runner' | 'cli';

/** One AWS call, as the SDK sent it. */
export interface AwsCall {
  readonly component: Component;
  readonly service: 's3' | 'secretsmanager' | 'ecs';
  /** The API operation, e.g. `GetObject`. */
  readonly operation: string;
  readonly input: Record<string, unknown>;
  /** The ARN the service answered with (Secrets Manager), when any. */
  readonly arn?: string;
  /** The HTTP status of a failed call (404: not found). */
  readonly status?: number;
}

const SERVICES: Record<string, AwsCall['service']> = { S3Client: 's3', SecretsManagerClient: 'secretsmanager', ECSClient: 'ecs' };

/** Builds SDK clients for components and keeps what they call. */
export class CallRecorder {
  readonly calls: AwsCall[] = [];
  private readonly ecsClients = new Map<ECSClient, Component>();

  /** An S3 client of `component`. */
  s3(component: Component, config: S3ClientConfig): S3Client {
    return this.record(component, new S3Client(config));
  }

  /** A Secrets Manager client of `component`. */
  secrets(component: Component, config: SecretsManagerClientConfig): SecretsManagerClient {
    return this.record(component, new SecretsManagerClient(config));
  }

  /** An ECS client of `component` (ECS is mocked: see {@link takeEcsCalls}). */
  ecs(component: Component): ECSClient {
    const client = new ECSClient({ region: 'eu-west-1' });
    this.ecsClients.set(client, component);
    return client;
  }

  /** Adds the calls the ECS mock received from this recorder's clients (once each). */
  takeEcsCalls(mock: AwsStub<object, MetadataBearer, unknown>): void {
    for (const call of mock.calls()) {
      const component = this.ecsClients.get(call.thisValue as ECSClient);
      if (!component) continue;
      const command = call.args[0] as { constructor: { name: string }; input: Record<string, unknown> };
      this.calls.push({ component, service: 'ecs', operation: command.constructor.name.replace(/Command$/, ''), input: command.input });
    }
    mock.resetHistory();
  }

  private record<C extends S3Client | SecretsManagerClient>(component: Component, client: C): C {
    const middleware: InitializeMiddleware<object, MetadataBearer> = (next, context) => async (args) => {
        const service = SERVICES[String(context.clientName)];
        const base = { component, service, operation: String(context.commandName).replace(/Command$/, ''), input: args.input as Record<string, unknown> };
        try {
          const out = await next(args);
          this.calls.push({ ...base, arn: (out.output as { ARN?: string }).ARN });
          return out;
        } catch (err) {
          this.calls.push({ ...base, status: (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode });
          throw err;
        }
      };
    (client.middlewareStack as { add(m: InitializeMiddleware<object, MetadataBearer>, o: { step: 'initialize'; name: string }): void }).add(middleware, {
      step: 'initialize',
      name: 'recordAwsCalls',
    });
    return client;
  }
}

/** A fault a {@link RecordingProxy} answers with instead of forwarding. */
export interface Fault {
  readonly method: string;
  readonly path: RegExp;
  readonly status: number;
  readonly code: string;
  times: number;
}

const errorXml = (code: string, message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>proxy</RequestId></Error>`;

/**
 * An HTTP proxy on 127.0.0.1 in front of moto_server: forwards every request unchanged,
 * records it (the raw request line, and the AWS call it is, for `component`), and answers
 * with an injected fault where one is set.
 */
export class RecordingProxy {
  /** `METHOD /path?query` of every request, in order. */
  readonly requests: string[] = [];
  readonly faults: Fault[] = [];
  private constructor(
    private readonly upstream: URL,
    private readonly server: http.Server,
    readonly endpoint: string,
    private readonly component: Component | undefined,
    private readonly recorder: CallRecorder | undefined,
  ) {}

  /** Starts a proxy to `upstream` (moto's endpoint); calls are added to `recorder` as `component`'s. */
  static async start(upstream: string, recorded?: { component: Component; recorder: CallRecorder }): Promise<RecordingProxy> {
    let proxy: RecordingProxy | undefined;
    const server = http.createServer((req, res) => {
      proxy!.handle(req, res).catch((err: unknown) => res.writeHead(502).end(String(err)));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    proxy = new RecordingProxy(new URL(upstream), server, `http://127.0.0.1:${port}`, recorded?.component, recorded?.recorder);
    return proxy;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Requests seen whose line (`METHOD /path?query`) matches. */
  count(method: string, path: RegExp): number {
    return this.requests.filter((r) => r.startsWith(`${method} `) && path.test(r.slice(method.length + 1))).length;
  }

  /** Answers the next `times` requests matching `method` and `path` with `status` and an S3 error `code`. */
  fail(method: string, path: RegExp, status: number, code: string, times: number): void {
    this.faults.push({ method, path, status, code, times });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const url = req.url ?? '/';
    this.requests.push(`${req.method} ${url}`);
    const fault = this.faults.find((f) => f.times > 0 && f.method === req.method && f.path.test(url));
    if (fault) {
      fault.times--;
      res.writeHead(fault.status, { 'content-type': 'application/xml' }).end(errorXml(fault.code, `injected ${fault.code}`));
      return;
    }
    const upstream = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      const out = http.request(
        { host: this.upstream.hostname, port: this.upstream.port, method: req.method, path: url, headers: req.headers },
        (answer) => {
          const parts: Buffer[] = [];
          answer.on('data', (c: Buffer) => parts.push(c));
          answer.on('end', () => resolve({ status: answer.statusCode ?? 502, headers: answer.headers, body: Buffer.concat(parts) }));
          answer.on('error', reject);
        },
      );
      out.on('error', reject);
      out.end(body);
    });
    if (this.component && this.recorder) {
      const call = httpCall(this.component, req, url, body, upstream.status, upstream.body);
      if (call) this.recorder.calls.push(call);
    }
    res.writeHead(upstream.status, upstream.headers).end(upstream.body);
  }
}

/** The AWS call an HTTP request is: the service from its SigV4 credential scope, the operation from the request. */
function httpCall(component: Component, req: http.IncomingMessage, url: string, body: Buffer, status: number, answer: Buffer): AwsCall | undefined {
  const service = /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(String(req.headers.authorization ?? ''))?.[1];
  const failed = status >= 300 ? { status } : {};
  if (service === 'secretsmanager') {
    const operation = String(req.headers['x-amz-target'] ?? '').replace(/^secretsmanager\./, '');
    const arn = status < 300 ? (JSON.parse(answer.toString('utf8') || '{}') as { ARN?: string }).ARN : undefined;
    return { component, service, operation, input: JSON.parse(body.toString('utf8') || '{}'), ...(arn ? { arn } : {}), ...failed };
  }
  if (service !== 's3') return undefined;
  const { pathname, searchParams } = new URL(url, 'http://proxy');
  const [bucket, ...rest] = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const key = rest.join('/');
  const versionId = searchParams.get('versionId') ?? undefined;
  const input = { Bucket: bucket, ...(key ? { Key: key } : {}), ...(versionId ? { VersionId: versionId } : {}) };
  if (!key) {
    if (req.method === 'GET' && searchParams.has('list-type')) return { component, service, operation: 'ListObjectsV2', input: { ...input, Prefix: searchParams.get('prefix') ?? '' }, ...failed };
    return { component, service, operation: `${req.method} bucket`, input, ...failed };
  }
  const operation = { GET: 'GetObject', HEAD: 'HeadObject', PUT: 'PutObject', DELETE: 'DeleteObject' }[req.method ?? ''] ?? `${req.method} object`;
  return { component, service, operation, input, ...failed };
}
