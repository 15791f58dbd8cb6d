import { logger } from './logger';

/** How long a clean stop may take before the process exits anyway (docs/limits.md). */
export const STOP_TIMEOUT_MS = 15_000;

/**
 * Every entry point's signal handling, written once: the first SIGTERM/SIGINT stops cleanly
 * (open requests and subscriptions end, pools close) and exits 0, or 1 when the stop failed; a
 * second signal, or a stop longer than STOP_TIMEOUT_MS, exits at once (1).
 */
export function stopOnSignals(name: string, stop: () => Promise<unknown>, timeoutMs = STOP_TIMEOUT_MS): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ service: name, signal }, 'second signal: exiting without a clean stop');
      process.exit(1);
    }
    stopping = true;
    const timer = setTimeout(() => {
      logger.error({ service: name, timeoutMs }, 'clean stop took too long: exiting');
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err, service: name }, 'clean stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/** A start that failed: logged, told on stderr, exit 1. */
export function exitOnStartFailure(name: string, err: unknown): never {
  logger.fatal({ err, service: name }, 'failed to start');
  console.error(`${name}: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
