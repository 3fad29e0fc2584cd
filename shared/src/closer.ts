/**
 * A LIFO stack of cleanups. `main.ts` pushes one per resource as it opens it; `close()`
 * runs every step in reverse order even when one fails, and rethrows the first error.
 * `closeOnSignals` wires SIGTERM/SIGINT to it, once.
 */
import { coerceError, type Logger } from './logger.ts';

export interface Closer {
  /** Registers a cleanup; cleanups run last-in, first-out. */
  add(name: string, cleanup: () => unknown): void;
  /** Runs every cleanup once; later calls return the same promise. */
  close(): Promise<void>;
  readonly closing: boolean;
}

export function createCloser(logger?: Logger): Closer {
  const steps: { name: string; cleanup: () => unknown }[] = [];
  let closing: Promise<void> | undefined;

  async function runAll(): Promise<void> {
    let firstError: Error | undefined;
    while (steps.length > 0) {
      const step = steps.pop()!;
      try {
        await step.cleanup();
      } catch (thrown) {
        const error = coerceError(thrown);
        logger?.error({ err: error, step: step.name }, 'cleanup step failed');
        firstError ??= error;
      }
    }
    if (firstError) throw firstError;
  }

  return {
    add(name, cleanup) {
      if (closing) throw new Error(`cannot add cleanup "${name}": already closing`);
      steps.push({ name, cleanup });
    },
    close() {
      closing ??= runAll();
      return closing;
    },
    get closing() {
      return closing !== undefined;
    },
  };
}

/**
 * Runs `closer.close()` on SIGTERM or SIGINT and exits: 0 when every cleanup succeeded,
 * 1 otherwise. A second signal while closing exits at once with 130.
 */
export function closeOnSignals(closer: Closer, logger: Logger): void {
  let received = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (received) {
      logger.warn({ signal }, 'second signal while shutting down: exiting now');
      process.exit(130);
    }
    received = true;
    logger.info({ signal }, 'shutting down');
    closer.close().then(
      () => {
        logger.info('shut down cleanly');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: coerceError(error) }, 'shut down with errors');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
