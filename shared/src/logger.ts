/** JSON logs with pino, one logger per process, named for the app. */
import { pino, type Logger } from 'pino';
import type { logLevels } from './config.ts';

export type { Logger };

export function createLogger(options: {
  name: string;
  level: (typeof logLevels)[number];
}): Logger {
  return pino({
    name: options.name,
    level: options.level,
    base: { app: options.name, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}

/** Normalizes anything thrown into an Error, so logs and records always have a message. */
export function coerceError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  if (typeof thrown === 'string') return new Error(thrown);
  try {
    return new Error(`Non-Error thrown: ${JSON.stringify(thrown)}`);
  } catch {
    return new Error(`Non-Error thrown: ${String(thrown)}`);
  }
}
