/**
 * The alert evaluator against a real Redis, with a real local HTTP server as the webhook
 * receiver; rounds are driven by `evaluateOnce()` and a test clock, never by timers.
 */
import { createLogger, createQueueModelRecorder, createRedis, jobKinds, openCatalogQueues, workersKey, type CatalogQueues } from '@conveyor/shared';
import { testPrefix, waitFor } from '@conveyor/shared/testing';
import type { Redis } from 'ioredis';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { createAlertEvaluator, type AlertEvaluator, type AlertEvaluatorDeps } from './alert-evaluator.ts';
import { parseAlertRules } from './alert-rules.ts';
import type { AlertMessage } from './alert-webhook.ts';

interface Receiver {
  url: string;
  messages: AlertMessage[];
  /** Status codes to answer with before answering 204, one per request. */
  failNext: number[];
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const messages: AlertMessage[] = [];
  const failNext: number[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const status = failNext.shift();
      if (status) return void res.writeHead(status).end();
      messages.push(JSON.parse(body) as AlertMessage);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    messages,
    failNext,
    close: () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}

describe('alert evaluator', () => {
  const logger = createLogger({ name: 'alerts-test', level: 'silent' });
  let prefix: string;
  let redis: Redis;
  let queues: CatalogQueues;
  let receiver: Receiver;
  let clockMs: number;
  const cleanups: (() => Promise<unknown>)[] = [];

  function evaluator(rules: unknown, extra: Partial<AlertEvaluatorDeps> = {}): AlertEvaluator {
    const created = createAlertEvaluator({ redis, prefix, queues, logger, rules: parseAlertRules(rules), now: () => clockMs, ...extra });
    cleanups.push(() => created.close());
    return created;
  }

  const addReports = (n: number) =>
    Promise.all(Array.from({ length: n }, () => queues.get('report').add('report.generate', jobKinds['report.generate'].example)));

  beforeEach(async () => {
    prefix = testPrefix('alerts');
    redis = createRedis({ url: inject('redisUrl'), mode: 'fail-fast', connectionName: 'conveyor:alerts-test' }, logger);
    await waitFor(() => redis.status === 'ready', { what: 'Redis ready' });
    queues = openCatalogQueues({ connection: redis, prefix, logger, deadLetters: true });
    receiver = await startReceiver();
    clockMs = Date.parse('2026-01-01T00:00:00Z');
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await receiver.close();
    await queues.close();
    redis.disconnect();
  });

  it('fires a backlog rule after `for`, sends once, respects the cooldown and resolves when the backlog drains', async () => {
    const alerts = evaluator({
      webhookUrl: receiver.url,
      cooldownSec: 600,
      rules: [{ name: 'report backlog', queue: 'report', when: { backlogAbove: 1 }, for: 30 }],
    });
    const state = () => alerts.list()[0]!;

    await addReports(2);
    await alerts.evaluateOnce();
    expect(state()).toMatchObject({ state: 'pending', value: 2, threshold: 1 });
    clockMs += 20_000;
    await alerts.evaluateOnce();
    expect(state().state).toBe('pending');
    expect(receiver.messages).toHaveLength(0);

    clockMs += 15_000;
    expect(await alerts.evaluateOnce()).toMatchObject({ leader: true, sent: 1 });
    expect(state()).toMatchObject({ state: 'firing', notified: true });
    expect(receiver.messages).toEqual([
      expect.objectContaining({ rule: 'report backlog', queue: 'report', state: 'firing', value: 2, threshold: 1, condition: 'backlogAbove', since: '2026-01-01T00:00:00.000Z' }),
    ]);

    // Still firing: no second message.
    clockMs += 15_000;
    await alerts.evaluateOnce();
    expect(receiver.messages).toHaveLength(1);

    await queues.get('report').drain();
    clockMs += 15_000;
    await alerts.evaluateOnce();
    expect(state().state).toBe('resolved');
    expect(receiver.messages.map((m) => m.state)).toEqual(['firing', 'resolved']);
    expect(receiver.messages[1]).toMatchObject({ value: 0 });

    // A new episode within the 600 s cooldown fires on the page but sends nothing, nor its resolution.
    await addReports(3);
    clockMs += 15_000;
    await alerts.evaluateOnce();
    clockMs += 30_000;
    await alerts.evaluateOnce();
    expect(state()).toMatchObject({ state: 'firing', notified: false });
    await queues.get('report').drain();
    clockMs += 15_000;
    await alerts.evaluateOnce();
    expect(state().state).toBe('resolved');
    expect(receiver.messages).toHaveLength(2);

    // After the cooldown a new episode is sent again.
    await addReports(2);
    clockMs += 600_000;
    await alerts.evaluateOnce();
    clockMs += 30_000;
    await alerts.evaluateOnce();
    expect(receiver.messages.map((m) => m.state)).toEqual(['firing', 'resolved', 'firing']);
  });

  it('does not fire when the condition stops holding before `for` has passed', async () => {
    const alerts = evaluator({ webhookUrl: receiver.url, rules: [{ name: 'b', queue: 'report', when: { backlogAbove: 0 }, for: 60 }] });
    await addReports(1);
    await alerts.evaluateOnce();
    await queues.get('report').drain();
    clockMs += 90_000;
    await alerts.evaluateOnce();
    expect(alerts.list()[0]!.state).toBe('ok');
    expect(receiver.messages).toHaveLength(0);
  });

  it('fires noLiveWorkers without a heartbeat and resolves once a worker beats', async () => {
    const alerts = evaluator({ webhookUrl: receiver.url, rules: [{ name: 'no workers', queue: 'email', when: { noLiveWorkers: true } }] });
    await alerts.evaluateOnce();
    expect(alerts.list()[0]).toMatchObject({ queue: 'email', state: 'firing', value: 0 });
    expect(receiver.messages).toEqual([expect.objectContaining({ rule: 'no workers', queue: 'email', state: 'firing' })]);

    const recorder = createQueueModelRecorder({ redis, prefix, concurrency: { email: 2 }, flushMs: 60_000, heartbeatMs: 60_000 });
    cleanups.push(() => recorder.close());
    await waitFor(async () => (await redis.hlen(workersKey(prefix, 'email'))) > 0, { what: 'a worker heartbeat' });
    clockMs += 15_000;
    await alerts.evaluateOnce();
    expect(alerts.list()[0]).toMatchObject({ state: 'resolved', value: 1 });
    expect(receiver.messages.map((m) => m.state)).toEqual(['firing', 'resolved']);
  });

  it('expands "*" to every catalog queue', async () => {
    const alerts = evaluator({ rules: [{ name: 'no workers', queue: '*', when: { noLiveWorkers: true } }] });
    await alerts.evaluateOnce();
    expect(alerts.list().map((s) => [s.queue, s.state])).toEqual([
      ['email', 'firing'],
      ['webhook', 'firing'],
      ['report', 'firing'],
    ]);
  });

  it('fires failureRatePercentAbove only once its window holds at least minAttempts attempts', async () => {
    const alerts = evaluator({
      webhookUrl: receiver.url,
      rules: [
        { name: 'failing email', queue: 'email', when: { failureRatePercentAbove: 20 } },
        { name: 'failing email, 5 attempts will do', queue: 'email', when: { failureRatePercentAbove: 20, minAttempts: 5 } },
      ],
    });
    const rule = (name: string) => alerts.list().find((s) => s.rule === name)!;
    const recorder = createQueueModelRecorder({ redis, prefix, concurrency: { email: 1 }, flushMs: 60_000, heartbeatMs: 60_000 });
    cleanups.push(() => recorder.close());
    /** Attempts finished just now, as a worker records them. */
    const attempts = async (ok: number, failed: number) => {
      const at = Date.now();
      for (let i = 0; i < ok + failed; i++) recorder.attempt('email', { startedAtMs: at - 40, finishedAtMs: at, ok: i < ok });
      await recorder.flush();
    };

    await attempts(5, 5);
    await alerts.evaluateOnce();
    // 50 % of 10 attempts: too few for the default 20, enough for the rule that asks for 5.
    expect(rule('failing email')).toMatchObject({ condition: 'failureRatePercentAbove', state: 'ok', value: null, threshold: 20 });
    expect(rule('failing email, 5 attempts will do')).toMatchObject({ state: 'firing', value: 50, threshold: 20 });

    await attempts(8, 2);
    clockMs += 15_000;
    await alerts.evaluateOnce();
    // 7 failed of 20 attempts: 35 %.
    expect(rule('failing email')).toMatchObject({ state: 'firing', value: 35 });
    expect(receiver.messages).toEqual([
      expect.objectContaining({ rule: 'failing email, 5 attempts will do', state: 'firing', value: 50, condition: 'failureRatePercentAbove' }),
      expect.objectContaining({ rule: 'failing email', queue: 'email', state: 'firing', value: 35, threshold: 20 }),
    ]);
  });

  it('fires oldestWaitingSecAbove once the oldest ready job has waited longer, and resolves when it is taken', async () => {
    const alerts = evaluator({ webhookUrl: receiver.url, rules: [{ name: 'stale reports', queue: 'report', when: { oldestWaitingSecAbove: 300 }, for: 30 }] });
    const state = () => alerts.list()[0]!;

    await alerts.evaluateOnce();
    expect(state()).toMatchObject({ condition: 'oldestWaitingSecAbove', state: 'ok', value: 0, threshold: 300 });
    // A job enqueued (and ready) ten minutes ago, still waiting.
    await queues.get('report').add('report.generate', jobKinds['report.generate'].example, { timestamp: Date.now() - 600_000 });
    await alerts.evaluateOnce();
    expect(state().state).toBe('pending');
    expect(state().value).toBeGreaterThanOrEqual(600);
    clockMs += 30_000;
    await alerts.evaluateOnce();
    expect(state()).toMatchObject({ state: 'firing', notified: true });
    expect(receiver.messages).toEqual([expect.objectContaining({ rule: 'stale reports', queue: 'report', state: 'firing', threshold: 300, condition: 'oldestWaitingSecAbove' })]);
    expect(receiver.messages[0]!.value).toBeGreaterThanOrEqual(600);

    await queues.get('report').drain();
    clockMs += 15_000;
    await alerts.evaluateOnce();
    expect(state()).toMatchObject({ state: 'resolved', value: 0 });
    expect(receiver.messages.map((m) => m.state)).toEqual(['firing', 'resolved']);
  });

  it('fires on dead-letter growth over its window', async () => {
    const alerts = evaluator({ rules: [{ name: 'dlq', queue: 'report', when: { deadLetterGrowthAbove: 1, windowSec: 60 } }] });
    const dlq = queues.deadLetterQueue('report');
    await alerts.evaluateOnce();
    expect(alerts.list()[0]).toMatchObject({ state: 'ok', value: 0 });
    await dlq.add('dead', { n: 1 });
    await dlq.add('dead', { n: 2 });
    clockMs += 30_000;
    await alerts.evaluateOnce();
    expect(alerts.list()[0]).toMatchObject({ state: 'firing', value: 2 });
    // No more growth once the window has moved past the additions.
    clockMs += 61_000;
    await alerts.evaluateOnce();
    clockMs += 15_000;
    await alerts.evaluateOnce();
    expect(alerts.list()[0]).toMatchObject({ state: 'resolved', value: 0 });
  });

  it('sends one message per transition with two evaluators on one Redis', async () => {
    const rules = { webhookUrl: receiver.url, rules: [{ name: 'backlog', queue: 'report', when: { backlogAbove: 0 } }] };
    const first = evaluator(rules);
    const second = evaluator(rules);
    await addReports(1);
    const rounds = await Promise.all([first.evaluateOnce(), second.evaluateOnce()]);
    expect(rounds.filter((r) => r.leader)).toHaveLength(1);
    await Promise.all([first.evaluateOnce(), second.evaluateOnce()]);
    expect(first.list()[0]!.state).toBe('firing');
    expect(second.list()[0]!.state).toBe('firing');
    await queues.get('report').drain();
    clockMs += 15_000;
    await Promise.all([first.evaluateOnce(), second.evaluateOnce()]);
    expect(receiver.messages.map((m) => m.state)).toEqual(['firing', 'resolved']);

    // The leader stops: the other takes the lease over at its next round and sends from then on.
    const leader = rounds[0]!.leader ? first : second;
    const follower = leader === first ? second : first;
    await leader.close();
    await addReports(1);
    clockMs += 1_000_000;
    expect(await follower.evaluateOnce()).toMatchObject({ leader: true, sent: 1 });
    expect(receiver.messages.map((m) => m.state)).toEqual(['firing', 'resolved', 'firing']);
  });

  it('keeps a message the webhook refused and sends it at the next round', async () => {
    const alerts = evaluator({ webhookUrl: receiver.url, rules: [{ name: 'backlog', queue: 'report', when: { backlogAbove: 0 } }] });
    receiver.failNext.push(500);
    await addReports(1);
    expect(await alerts.evaluateOnce()).toMatchObject({ sent: 0 });
    expect(alerts.list()[0]!.state).toBe('firing');
    clockMs += 15_000;
    expect(await alerts.evaluateOnce()).toMatchObject({ sent: 1 });
    expect(receiver.messages).toEqual([expect.objectContaining({ state: 'firing' })]);
  });

  it('keeps going when the webhook is unreachable', async () => {
    const down = await startReceiver();
    await down.close();
    const alerts = evaluator({ webhookUrl: down.url, rules: [{ name: 'backlog', queue: 'report', when: { backlogAbove: 0 } }] });
    await addReports(1);
    expect(await alerts.evaluateOnce()).toMatchObject({ leader: true, sent: 0 });
    expect(alerts.list()[0]!.state).toBe('firing');
  });

  it('skips rounds while Redis is away and keeps the states', async () => {
    const away = createRedis({ url: 'redis://127.0.0.1:1', mode: 'fail-fast', connectionName: 'conveyor:alerts-away' }, logger);
    cleanups.push(async () => away.disconnect());
    const alerts = createAlertEvaluator({ redis: away, prefix, queues, logger, rules: parseAlertRules({ rules: [{ name: 'b', queue: 'report', when: { backlogAbove: 0 } }] }) });
    cleanups.push(() => alerts.close());
    const round = await alerts.evaluateOnce();
    expect(round.skipped).toMatch(/Redis unreachable/);
    expect(alerts.list()[0]!.state).toBe('unknown');
    expect(alerts.evaluatedAtMs()).toBeNull();
  });
});
