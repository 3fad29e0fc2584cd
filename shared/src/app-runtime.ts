/**
 * The start and end of an app process, shared by every app's `main.ts`:
 *
 * 1. The config is read once. A bad environment prints the ConfigError (every bad variable)
 *    on stderr and exits 2, before anything is opened.
 * 2. A logger named for the app, and a cleanup stack that SIGTERM/SIGINT run (exit 0, or 1
 *    when a cleanup failed); `main.ts` adds a cleanup for each thing it opens.
 * 3. `refuseToStart`: the Redis settings gate said no (a Redis that may evict jobs). The reason
 *    goes to stderr and the log, the cleanups run, exit 2 — at the latest after 5 s.
 * 4. `failStart`: anything else thrown while starting is logged as fatal, the cleanups run,
 *    exit 1.
 */
import { createCloser, closeOnSignals, type Closer } from './closer.ts';
import { ConfigError, type logLevels } from './config.ts';
import { coerceError, createLogger, type Logger } from './logger.ts';

/** How long a refused start-up may spend on its cleanups before it exits anyway, in ms. */
const REFUSAL_EXIT_DEADLINE_MS = 5_000;

export interface AppRuntimeOptions<Config> {
  /** The app's name (`producer`): its logger's name and the prefix of what it prints before exiting. */
  name: string;
  /** Reads the app's config from the environment; throws a ConfigError naming every bad variable. */
  loadConfig: () => Config;
  /** The log level in the loaded config. */
  logLevel: (config: Config) => (typeof logLevels)[number];
  /** Print a bad configuration after `<name>: `, as the Redis refusal is. Default false (the message alone). */
  nameConfigErrors?: boolean;
}

export interface AppRuntime<Config> {
  config: Config;
  logger: Logger;
  /** Run by SIGTERM/SIGINT, by `refuseToStart` and by `failStart`. */
  closer: Closer;
  /** For `checkRedisSettingsWhenReady`'s `onRefused`: say why on stderr, clean up, exit 2. */
  refuseToStart(error: Error): void;
  /** For a start-up that threw: log `<name> failed to start`, clean up, exit 1. */
  failStart(error: unknown): Promise<never>;
}

/** Reads the config (exit 2 when it is bad), then makes the logger and the signal-driven cleanup stack. */
export function createAppRuntime<Config>(options: AppRuntimeOptions<Config>): AppRuntime<Config> {
  const { name } = options;
  const config = readConfigOrExit(options);
  const logger = createLogger({ name, level: options.logLevel(config) });
  const closer = createCloser(logger);
  closeOnSignals(closer, logger);

  return {
    config,
    logger,
    closer,
    refuseToStart(error) {
      process.stderr.write(`${name}: ${error.message}\n`);
      logger.fatal(error.message);
      setTimeout(() => process.exit(2), REFUSAL_EXIT_DEADLINE_MS).unref();
      closer.close().catch(() => {}).finally(() => process.exit(2));
    },
    async failStart(error) {
      logger.fatal({ err: coerceError(error) }, `${name} failed to start`);
      await closer.close().catch(() => {});
      process.exit(1);
    },
  };
}

function readConfigOrExit<Config>(options: AppRuntimeOptions<Config>): Config {
  try {
    return options.loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${options.nameConfigErrors ? `${options.name}: ` : ''}${error.message}\n`);
    process.exit(2);
  }
}
