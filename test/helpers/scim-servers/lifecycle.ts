/**
 * A test server must never outlive the test run that spawned it: an orphan keeps a port
 * and a process slot after a crashed or killed vitest worker.
 */
export function exitWithParent(): void {
  const parentPid = process.ppid;
  // The harness keeps our stdin as a pipe it never writes to; EOF means the parent is gone.
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
  // stdin EOF is not delivered when the parent is SIGKILLed while a grandchild still holds the pipe.
  const timer = setInterval(() => {
    if (process.ppid !== parentPid) process.exit(0);
  }, 1000);
  timer.unref();
}
