/**
 * The `stash` process: wires SIGINT and SIGTERM to the AbortSignal that every command honours
 * (restic is stopped cleanly and a run recorded as interrupted; reading specs stops at the next
 * file; a second signal exits at once) and exits with the CLI's code.
 */
import { InterruptedError } from './command';
import { main } from './main';

const controller = new AbortController();
let signals = 0;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    signals++;
    if (signals > 1) process.exit(130);
    controller.abort(new InterruptedError(sig));
  });
}
void main(process.argv.slice(2), undefined, controller.signal).then((code) => {
  process.exitCode = code;
});
