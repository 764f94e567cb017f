/**
 * The container credentials endpoint, as ECS serves it to a task: GET with the task's
 * `Authorization` token answers the role's temporary credentials as JSON (`AccessKeyId`,
 * `SecretAccessKey`, `Token`, `Expiration`, `RoleArn`). ECS gives a task the relative URI on
 * 169.254.170.2; here a process is given `AWS_CONTAINER_CREDENTIALS_FULL_URI` on 127.0.0.1
 * (restic's S3 client and the AWS SDK accept a full URI only on a loopback address) and
 * `AWS_CONTAINER_AUTHORIZATION_TOKEN`.
 *
 * @example
 * const endpoint = await startContainerCredentials();
 * spawn('restic', args, { env: { ...endpoint.env, RESTIC_PASSWORD } });
 */
import http from 'node:http';
import { randomBytes } from 'node:crypto';

/** A running credentials endpoint. */
export interface ContainerCredentials {
  /** The variables a process needs to use it. */
  readonly env: { readonly AWS_CONTAINER_CREDENTIALS_FULL_URI: string; readonly AWS_CONTAINER_AUTHORIZATION_TOKEN: string };
  /** The credentials it hands out: every request signed with them names `accessKeyId`. */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken: string };
  /** How many requests carried the token, and how many did not (answered 401). */
  readonly served: { ok: number; refused: number };
  stop(): Promise<void>;
}

/** Starts the endpoint on a free port of 127.0.0.1 with fresh credentials and token. */
export async function startContainerCredentials(): Promise<ContainerCredentials> {
  const token = `token-${randomBytes(12).toString('hex')}`;
  const credentials = {
    accessKeyId: `ASIA${randomBytes(8).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(20).toString('base64'),
    sessionToken: `session-${randomBytes(24).toString('hex')}`,
  };
  const served = { ok: 0, refused: 0 };
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/v2/credentials' || req.headers.authorization !== token) {
      served.refused++;
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"code":"AccessDenied","message":"Invalid authorization token"}');
      return;
    }
    served.ok++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        AccessKeyId: credentials.accessKeyId,
        SecretAccessKey: credentials.secretAccessKey,
        Token: credentials.sessionToken,
        Expiration: new Date(Date.now() + 3_600_000).toISOString(),
        RoleArn: 'arn:aws:iam::111122223333:role/Stash-RunnerTaskRole',
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    env: { AWS_CONTAINER_CREDENTIALS_FULL_URI: `http://127.0.0.1:${port}/v2/credentials`, AWS_CONTAINER_AUTHORIZATION_TOKEN: token },
    credentials,
    served,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
