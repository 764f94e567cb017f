/**
 * Real backend servers on 127.0.0.1 for integration and conformance tests. Each `start*`
 * resolves once the server answers and returns a handle whose `stop()` kills it, waits for
 * it to exit and removes its temp folder; call it in `afterAll` (or `finally`).
 *
 * @example
 * for (const start of [startS3, startAzurite, startSwift, () => startRest({ user, pass })]) {
 *   const server = await start();
 *   try { ... } finally { await server.stop(); }
 * }
 */
export { startAzurite, AZURITE_PORT, type AzuriteServer } from './azurite';
export { freePort, httpStatus, isPortOpen, ServerError, waitFor, type ServerProcess } from './process';
export { startRest, type RestServer } from './rest';
export { s3ClientConfig, startS3, type S3Server } from './s3';
export { startSwift, type SwiftServer } from './swift';
export { selfSignedCert, type SelfSignedCert } from './tls';
export { startMoto, type MotoServer } from './moto';
