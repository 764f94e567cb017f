/**
 * The `stash` process: wires signals to an AbortSignal (Ctrl-C or SIGTERM stops restic
 * cleanly and records the run as interrupted; a second Ctrl-C exits at once) and exits with
 * the CLI's code.
 */
import { main } from './main';

const controller = new AbortController();
let signals = 0;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    signals++;
    if (signals > 1) process.exit(130);
    controller.abort();
  });
}
void main(process.argv.slice(2), undefined, controller.signal).then((code) => {
  process.exitCode = code;
});
