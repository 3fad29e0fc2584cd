/**
 * The alert evaluator: one loop in the dashboard process, every `intervalMs`.
 *
 * Each round it reads the queue model once for every catalog queue (O(queues): one snapshot
 * and one pipeline per queue, plus one count of each dead-letter queue), checks every rule on
 * every queue it names, and moves that (rule, queue) pair through its states:
 *
 *   ok → pending     the condition holds (a rule with `for: 0` goes straight on to firing)
 *   pending → firing the condition has held for `for` seconds: a "firing" message
 *   pending → ok     it stopped holding before that: no message
 *   firing → resolved it stopped holding: a "resolved" message
 *
 * Cooldown: a pair sends at most one "firing" message per `cooldownSec`; an episode that fires
 * within the cooldown of the last one is shown but not sent, and neither is its "resolved".
 * Messages go to the rules file's webhook only from the process holding the alert lease
 * (alert-leader.ts), so several dashboards send one message per transition. A message the
 * webhook refuses stays queued, in order, and is retried at the next round; failures are logged,
 * never thrown. While Redis is away rounds are skipped (logged once) and states stay as they were.
 */
import { isRedisReady, readQueueModel, type CatalogQueues, type Logger, type QueueFigures, type QueueName } from '@conveyor/shared';
import type { JobType } from 'bullmq';
import type { RedisClient } from '@conveyor/shared';
import { callRedis, RedisUnavailableError } from '../redis-call.ts';
import { checkCondition, kindOf, type QueueReadings } from './alert-conditions.ts';
import { createAlertLeaderLease } from './alert-leader.ts';
import type { AlertCondition, AlertRules, ConditionKind } from './alert-rules.ts';
import { postAlertMessage, type AlertMessage } from './alert-webhook.ts';
import { createDeadLetterGrowth } from './dead-letter-growth.ts';

export type AlertState = 'unknown' | 'ok' | 'pending' | 'firing' | 'resolved';

/** One rule on one queue, as last evaluated. Times in ms since the epoch. */
export interface AlertStatus {
  rule: string;
  queue: string;
  condition: ConditionKind;
  when: AlertCondition;
  forSec: number;
  state: AlertState;
  value: number | null;
  threshold: number | null;
  /** When the condition started to hold (pending, firing); null otherwise. */
  sinceMs: number | null;
  firingSinceMs: number | null;
  resolvedAtMs: number | null;
  /** False when the cooldown kept this episode's messages from being sent. */
  notified: boolean;
}

/** What the pages read: every rule on every queue, and when the last round ran. */
export interface AlertsView {
  list(): AlertStatus[];
  /** ms since the epoch; null before the first round that reached Redis. */
  evaluatedAtMs(): number | null;
}

export interface AlertEvaluatorDeps {
  /** A connection the evaluator may use (it does not close it). */
  redis: RedisClient;
  prefix: string;
  /** The catalog queues, with their dead-letter queues opened. */
  queues: CatalogQueues;
  rules: AlertRules;
  logger: Logger;
  /** How long the queue model's history is kept, in s (passed to the reader). Default 7 days. */
  historyTtlSec?: number;
  /** Time between rounds, in ms. Default 15,000. */
  intervalMs?: number;
  /** Longest wait for a round's Redis reads, in ms. Default 5,000. */
  commandTimeoutMs?: number;
  /** Longest wait for the webhook to answer, in ms. Default 5,000. */
  webhookTimeoutMs?: number;
  /** How long the sending lease lasts without renewal, in ms. Default max(3 × intervalMs, 30,000). */
  leaseMs?: number;
  /** The dashboard's public base URL; messages then link to its alerts page. */
  dashboardUrl?: string;
  /** The clock of states, `for` and cooldown (tests). Default Date.now. */
  now?: () => number;
}

export interface RoundResult {
  /** Why the round did nothing, e.g. Redis away. */
  skipped?: string;
  leader: boolean;
  /** Messages the webhook accepted this round. */
  sent: number;
}

export interface AlertEvaluator extends AlertsView {
  /** Runs one round now (rounds never overlap); never throws. */
  evaluateOnce(): Promise<RoundResult>;
  /** Starts the loop: a round now, then one `intervalMs` after each round ends. */
  start(): void;
  /** Stops the loop, waits for a running round and gives the sending lease back. */
  close(): Promise<void>;
}

const defaults = { historyTtlSec: 7 * 86_400, intervalMs: 15_000, commandTimeoutMs: 5_000, webhookTimeoutMs: 5_000 } as const;
/** Queued messages kept while the webhook is down; the oldest are dropped beyond it. */
const OUTBOX_LIMIT = 1_000;

interface Target {
  status: AlertStatus;
  /** When the last "firing" message of this pair was decided, for the cooldown. */
  lastFiringNotifiedAtMs: number | null;
}

export function createAlertEvaluator(deps: AlertEvaluatorDeps): AlertEvaluator {
  const { redis, prefix, queues, rules, logger, historyTtlSec, intervalMs, commandTimeoutMs, webhookTimeoutMs } = { ...defaults, ...deps };
  const now = deps.now ?? Date.now;
  const cooldownMs = rules.cooldownSec * 1_000;
  const lease = createAlertLeaderLease({ redis, prefix, leaseMs: deps.leaseMs ?? Math.max(3 * intervalMs, 30_000) });
  const queueNames = queues.all().map((q) => q.name);
  const log = logger.child({ component: 'alerts' });

  const targets: Target[] = rules.rules.flatMap((rule) =>
    (rule.queue === '*' ? queueNames : [rule.queue]).map((queue) => ({
      lastFiringNotifiedAtMs: null,
      status: {
        rule: rule.name,
        queue,
        condition: kindOf(rule.when),
        when: rule.when,
        forSec: rule.for,
        state: 'unknown' as AlertState,
        value: null,
        threshold: null,
        sinceMs: null,
        firingSinceMs: null,
        resolvedAtMs: null,
        notified: false,
      },
    })),
  );

  const needsDeadLetters = targets.some((t) => t.status.condition === 'deadLetterGrowthAbove');
  const longestGrowthWindowMs = Math.max(0, ...rules.rules.map((r) => ('windowSec' in r.when ? r.when.windowSec * 1_000 : 0)));
  const deadLetterGrowth = createDeadLetterGrowth({ longestWindowMs: longestGrowthWindowMs });
  let outbox: AlertMessage[] = [];
  let evaluatedAtMs: number | null = null;
  let redisAway = false;
  let running: Promise<RoundResult> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  function noteRedisAway(reason: string): RoundResult {
    if (!redisAway) log.warn({ reason }, 'alert evaluation skipped while Redis is unreachable');
    redisAway = true;
    return { skipped: `Redis unreachable: ${reason}`, leader: false, sent: 0 };
  }

  async function readDeadLetterCounts(): Promise<Map<string, number>> {
    const counts = await Promise.all(
      queueNames.map(async (name) => {
        // Records wait in the (paused) dead-letter queue; the legacy paused list is counted for old clients.
        const raw = await queues.deadLetterQueue(name as QueueName).getJobCounts('waiting', 'paused' as JobType);
        return [name, (raw.waiting ?? 0) + (raw.paused ?? 0)] as const;
      }),
    );
    return new Map(counts);
  }

  function message(status: AlertStatus, state: 'firing' | 'resolved', atMs: number): AlertMessage {
    return {
      rule: status.rule,
      queue: status.queue,
      state,
      value: status.value,
      threshold: status.threshold ?? 0,
      condition: status.condition,
      since: new Date(status.sinceMs ?? atMs).toISOString(),
      at: new Date(atMs).toISOString(),
      ...(deps.dashboardUrl ? { dashboardUrl: `${deps.dashboardUrl.replace(/\/+$/, '')}/alerts` } : {}),
    };
  }

  /** Moves one pair through its states; returns the message the transition sends, if any. */
  function advance(target: Target, readings: QueueReadings, atMs: number): AlertMessage | undefined {
    const { status } = target;
    const reading = checkCondition(status.when, readings);
    status.value = reading.value;
    status.threshold = reading.threshold;
    if (!reading.breached) {
      if (status.state === 'firing') {
        status.state = 'resolved';
        status.resolvedAtMs = atMs;
        return status.notified ? message(status, 'resolved', atMs) : undefined;
      }
      if (status.state !== 'resolved') status.state = 'ok';
      if (status.state === 'ok') status.sinceMs = null;
      return undefined;
    }
    if (status.state !== 'pending' && status.state !== 'firing') {
      status.state = 'pending';
      status.sinceMs = atMs;
    }
    if (status.state === 'pending' && atMs - status.sinceMs! >= status.forSec * 1_000) {
      status.state = 'firing';
      status.firingSinceMs = atMs;
      status.resolvedAtMs = null;
      const cooling = target.lastFiringNotifiedAtMs !== null && atMs - target.lastFiringNotifiedAtMs < cooldownMs;
      status.notified = !cooling;
      if (cooling) {
        log.info({ rule: status.rule, queue: status.queue }, 'alert firing again within its cooldown: not sent');
        return undefined;
      }
      target.lastFiringNotifiedAtMs = atMs;
      return message(status, 'firing', atMs);
    }
    return undefined;
  }

  async function deliver(): Promise<number> {
    const url = rules.webhookUrl;
    if (!url) return 0;
    let sent = 0;
    while (outbox.length > 0) {
      const next = outbox[0]!;
      try {
        await postAlertMessage(url, next, webhookTimeoutMs);
      } catch (error) {
        log.warn({ err: error, rule: next.rule, queue: next.queue, state: next.state, queued: outbox.length }, 'alert webhook failed; retrying at the next evaluation');
        break;
      }
      outbox.shift();
      sent++;
      log.info({ rule: next.rule, queue: next.queue, state: next.state, value: next.value }, `alert ${next.state}`);
    }
    return sent;
  }

  async function round(): Promise<RoundResult> {
    if (!isRedisReady(redis)) return noteRedisAway(`connection ${redis.status}`);
    let figures: QueueFigures[];
    let deadLetters: Map<string, number> | undefined;
    let leader: boolean;
    try {
      [figures, deadLetters, leader] = await callRedis({ redis, timeoutMs: commandTimeoutMs, label: 'alert figures' }, () =>
        Promise.all([
          readQueueModel(redis, { prefix, queues: queueNames, historyTtlSec }),
          needsDeadLetters ? readDeadLetterCounts() : Promise.resolve(undefined),
          rules.webhookUrl ? lease.acquire() : Promise.resolve(false),
        ]),
      );
    } catch (error) {
      if (error instanceof RedisUnavailableError) return noteRedisAway(error.message);
      log.error({ err: error }, 'alert evaluation failed');
      return { skipped: `failed: ${(error as Error).message}`, leader: false, sent: 0 };
    }
    if (redisAway) log.info('alert evaluation resumed: Redis answers again');
    redisAway = false;

    const atMs = now();
    evaluatedAtMs = atMs;
    if (deadLetters) deadLetterGrowth.record(deadLetters, atMs);
    const byQueue = new Map(figures.map((f) => [f.queue, f]));
    for (const target of targets) {
      const queueFigures = byQueue.get(target.status.queue);
      if (!queueFigures) continue;
      const sent = advance(target, { figures: queueFigures, deadLetterGrowth: (windowSec) => deadLetterGrowth.over(target.status.queue, windowSec, atMs) }, atMs);
      // Every process keeps the same states and cooldowns; only the lease holder sends.
      if (sent && leader) outbox.push(sent);
    }
    if (!leader) {
      outbox = [];
      return { leader, sent: 0 };
    }
    if (outbox.length > OUTBOX_LIMIT) {
      log.warn({ dropped: outbox.length - OUTBOX_LIMIT }, 'alert webhook backlog too long: oldest messages dropped');
      outbox = outbox.slice(-OUTBOX_LIMIT);
    }
    return { leader, sent: await deliver() };
  }

  function evaluateOnce(): Promise<RoundResult> {
    running ??= round()
      .catch((error: unknown) => {
        // Never reached by design; a bug here must not stop the loop.
        log.error({ err: error }, 'alert evaluation failed');
        return { skipped: 'failed', leader: false, sent: 0 };
      })
      .finally(() => (running = undefined));
    return running;
  }

  function schedule(delayMs: number): void {
    if (stopped) return;
    timer = setTimeout(() => {
      void evaluateOnce().then(() => schedule(intervalMs));
    }, delayMs);
  }

  return {
    evaluateOnce,
    list: () => targets.map((t) => ({ ...t.status })),
    evaluatedAtMs: () => evaluatedAtMs,
    start() {
      if (timer || stopped) return;
      log.info({ rules: rules.rules.length, pairs: targets.length, intervalMs, webhook: Boolean(rules.webhookUrl) }, 'alert evaluator started');
      schedule(0);
    },
    async close() {
      stopped = true;
      clearTimeout(timer);
      await running;
      await lease.release();
    },
  };
}
