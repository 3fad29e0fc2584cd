/**
 * The audit log: who did what, to which queue and jobs, when, and how it ended. Every sign-in
 * (and failed one), sign-out and state-changing request by a known user is one entry in the
 * Redis stream `<prefix>:~conveyor:dashboard:audit`, trimmed to about `maxEntries` (XADD
 * MAXLEN ~), so all dashboard processes write one log and it survives their restarts.
 */
import type { Logger } from '@conveyor/shared';
import type { RedisClient } from '@conveyor/shared';
import { callRedis } from '../redis-call.ts';

export interface AuditEntry {
  /** Stream id, when read back. */
  id?: string;
  /** ISO time. */
  at: string;
  user: string;
  /** `session`, `basic`, `local`, or `none` for a failed sign-in. */
  via: string;
  /** `login`, `login.failed`, `logout`, or the request's action (request-action.ts). */
  action: string;
  method?: string;
  path?: string;
  queue?: string;
  jobs?: string;
  /** Records or jobs the action took (or, in a dry run, would take). */
  count?: number;
  /** The action only counted what it would do. */
  dryRun?: boolean;
  /** How it ended, in words: `redriven 3 of 3 matched; skipped 0; failed 0`, a task started, an error. */
  detail?: string;
  /** HTTP status of the answer. */
  status?: number;
  ip?: string;
}

export interface AuditLogOptions {
  redis: RedisClient;
  prefix: string;
  logger: Logger;
  /** Longest wait for one Redis call, in ms. */
  commandTimeoutMs: number;
  /** Entries kept, approximately. Default 10,000. */
  maxEntries?: number;
}

export interface AuditLog {
  /** Appends one entry; a failure is logged, never thrown (the action already happened). */
  record(entry: Omit<AuditEntry, 'id' | 'at'>): Promise<void>;
  /** The newest `count` entries, newest first. */
  latest(count: number): Promise<AuditEntry[]>;
}

export function auditKey(prefix: string): string {
  return `${prefix}:~conveyor:dashboard:audit`;
}

const fields = ['at', 'user', 'via', 'action', 'method', 'path', 'queue', 'jobs', 'count', 'dryRun', 'detail', 'status', 'ip'] as const;

export function createAuditLog(options: AuditLogOptions): AuditLog {
  const { redis, prefix, logger, commandTimeoutMs, maxEntries = 10_000 } = options;
  const key = auditKey(prefix);
  return {
    async record(entry) {
      const full: AuditEntry = { at: new Date().toISOString(), ...entry };
      const flat = fields.flatMap((field) => (full[field] === undefined ? [] : [field, String(full[field])]));
      try {
        await callRedis({ redis, timeoutMs: commandTimeoutMs, label: 'audit XADD' }, () =>
          redis.xadd(key, 'MAXLEN', '~', String(maxEntries), '*', ...flat),
        );
      } catch (error) {
        // The action is done; the log line keeps what the stream could not.
        logger.error({ err: error, audit: full }, 'could not append to the audit log');
      }
    },
    async latest(count) {
      const rows = await callRedis({ redis, timeoutMs: commandTimeoutMs, label: 'audit XREVRANGE' }, () =>
        redis.xrevrange(key, '+', '-', 'COUNT', count),
      );
      return rows.map(([id, values]) => {
        const record: Record<string, string> = {};
        for (let i = 0; i + 1 < values.length; i += 2) record[values[i]!] = values[i + 1]!;
        return {
          id,
          at: record.at ?? '',
          user: record.user ?? '',
          via: record.via ?? '',
          action: record.action ?? '',
          ...(record.method ? { method: record.method } : {}),
          ...(record.path ? { path: record.path } : {}),
          ...(record.queue ? { queue: record.queue } : {}),
          ...(record.jobs ? { jobs: record.jobs } : {}),
          ...(record.count ? { count: Number(record.count) } : {}),
          ...(record.dryRun ? { dryRun: record.dryRun === 'true' } : {}),
          ...(record.detail ? { detail: record.detail } : {}),
          ...(record.status ? { status: Number(record.status) } : {}),
          ...(record.ip ? { ip: record.ip } : {}),
        };
      });
    },
  };
}
