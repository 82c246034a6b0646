/**
 * How a foreground service (`palmswitch gateway start`, `hsm start`, `network-sim start`) stops.
 * A Ctrl-C under `npm start` reaches a service twice: SIGINT goes to the whole process group,
 * and the stack (cli/stack.ts) then sends each child SIGTERM. The service closes once for both,
 * and a close that fails is reported and ends the process with 1 instead
 * of an unhandled rejection.
 */
export function stopOnSignals(name: string, close: () => Promise<void>): void {
  let stopping: Promise<void> | undefined;
  const stop = (): void => {
    stopping ??= close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`${name}: shutdown failed: ${error instanceof Error ? error.message : String(error)}\n`);
        process.exit(1);
      },
    );
  };
  // Once each: a second Ctrl-C finds Node's default and ends the process at once, as a user who
  // presses it again means.
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
