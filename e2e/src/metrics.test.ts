/**
 * Metrics across the real processes: a known load from a plain BullMQ client through a real
 * worker, read back from the dashboard's /metrics; each app's own process metrics; and the
 * deploy/ examples (Prometheus alert rules, Grafana dashboard) checked against the names the
 * running dashboard exposes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePrometheusText, testPrefix, waitFor, type PrometheusExposition } from '@conveyor/shared/testing';
import { Queue } from 'bullmq';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { metricNamesIn } from './promql-names.ts';
import { repoRoot, startStack, type Stack } from './stack.ts';
import { queuePrefix } from '@conveyor/shared';

const EMAIL_LATENCY_MS = 30;
const COMPLETING = 10;
const processMetrics = ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes'];

const prefix = testPrefix('metrics');
let stack: Stack;
const queues: Queue[] = [];

beforeAll(async () => {
  stack = await startStack({
    REDIS_URL: inject('redisUrl'),
    CONVEYOR_PREFIX: prefix,
    EMAIL_LATENCY_MS: String(EMAIL_LATENCY_MS),
    // report is left unworked, to hold a backlog.
    WORKER_QUEUES: 'email,webhook',
  });
});

afterAll(async () => {
  await Promise.all(queues.map((queue) => queue.close()));
  if (!stack) return;
  expect(await stack.stop()).toEqual({ producer: 0, worker: 0, dashboard: 0 });
});

function plainQueue(name: string): Queue {
  const { hostname, port } = new URL(inject('redisUrl'));
  const queue = new Queue(name, { connection: { host: hostname, port: Number(port) }, prefix: queuePrefix(prefix, name) });
  queue.on('error', () => {});
  queues.push(queue);
  return queue;
}

async function scrape(url: string): Promise<{ status: number; contentType: string | null; metrics: PrometheusExposition }> {
  const response = await fetch(`${url}/metrics`);
  return { status: response.status, contentType: response.headers.get('content-type'), metrics: parsePrometheusText(await response.text()) };
}

describe('metrics of a known load through the whole stack', () => {
  it('counts arrivals, completions, failed attempts and dead letters, and histograms every attempt', async () => {
    const email = plainQueue('email');
    const report = plainQueue('report');
    for (let i = 0; i < COMPLETING; i++) await email.add('email.send', { to: 'ada@example.com', subject: `#${i}`, body: '' });
    // Fails twice (a temporary SMTP error), then for good: dead-lettered.
    await email.add('email.send', { to: 'bob@example.invalid', subject: 'never', body: '' }, { attempts: 2, backoff: { type: 'fixed', delay: 100 } });
    await report.add('report.generate', { reportId: 'r-1', rows: 10 });
    await report.add('report.generate', { reportId: 'r-2', rows: 10 });

    const email$ = { queue: 'email' };
    const metrics = await waitFor(
      async () => {
        const { metrics } = await scrape(stack.dashboardUrl);
        const done =
          metrics.value('conveyor_jobs_completed_total', email$) === COMPLETING &&
          metrics.value('conveyor_jobs_dead_lettered_total', email$) === 1 &&
          metrics.value('conveyor_job_service_seconds_count', email$) === COMPLETING + 2 &&
          (metrics.value('conveyor_queue_oldest_waiting_seconds', { queue: 'report' }) ?? 0) > 0;
        return done ? metrics : undefined;
      },
      { what: 'the load to show on /metrics', timeoutMs: 30_000, intervalMs: 250 },
    );

    expect(metrics.value('conveyor_jobs_arrived_total', email$)).toBe(COMPLETING + 1);
    expect(metrics.value('conveyor_jobs_completed_total', email$)).toBe(COMPLETING);
    expect(metrics.value('conveyor_jobs_failed_total', email$)).toBe(2);
    expect(metrics.value('conveyor_jobs_dead_lettered_total', email$)).toBe(1);
    expect(metrics.value('conveyor_queue_backlog', email$)).toBe(0);
    expect(metrics.value('conveyor_queue_in_service', email$)).toBe(0);
    expect(metrics.value('conveyor_workers_live', email$)).toBe(1);
    expect(metrics.value('conveyor_workers_concurrency', email$)).toBeGreaterThan(0);

    // Every attempt is a service sample (10 completed + 2 failed), every first attempt a wait sample.
    const serviceCount = metrics.value('conveyor_job_service_seconds_count', email$)!;
    expect(serviceCount).toBe(metrics.value('conveyor_jobs_completed_total', email$)! + metrics.value('conveyor_jobs_failed_total', email$)!);
    expect(metrics.value('conveyor_job_wait_seconds_count', email$)).toBe(COMPLETING + 1);
    // Each attempt sleeps EMAIL_LATENCY_MS: nothing finishes within 25 ms, and the sum is at least n × 30 ms.
    expect(metrics.value('conveyor_job_service_seconds_bucket', { ...email$, le: '0.025' })).toBe(0);
    expect(metrics.value('conveyor_job_service_seconds_sum', email$)).toBeGreaterThanOrEqual((serviceCount * (EMAIL_LATENCY_MS - 1)) / 1_000);
    for (const name of ['conveyor_job_wait_seconds', 'conveyor_job_service_seconds']) {
      const buckets = metrics.series(`${name}_bucket`, email$);
      for (let i = 1; i < buckets.length; i++) expect(buckets[i]!.value, `${name} le=${buckets[i]!.labels.le}`).toBeGreaterThanOrEqual(buckets[i - 1]!.value);
      expect(buckets.at(-1)).toMatchObject({ labels: { le: '+Inf' }, value: metrics.value(`${name}_count`, email$) });
    }

    // The producer put the catalog's nightly report schedule in place: its next run waits as a
    // delayed job, an arrival too (though not yet backlog).
    expect(await report.getDelayedCount()).toBe(1);
    expect(metrics.value('conveyor_jobs_arrived_total', { queue: 'report' })).toBe(2 + 1);
    expect(metrics.value('conveyor_queue_backlog', { queue: 'report' })).toBe(2);
    expect(metrics.value('conveyor_workers_live', { queue: 'report' })).toBe(0);
  });

  it('serves each app’s process metrics on its own /metrics', async () => {
    for (const [app, url] of [['producer', stack.producerUrl], ['worker', stack.workerUrl], ['dashboard', stack.dashboardUrl]] as const) {
      const { status, contentType, metrics } = await scrape(url);
      expect(status, app).toBe(200);
      expect(contentType, app).toMatch(/^text\/plain;.*version=0\.0\.4/);
      for (const name of processMetrics) expect(metrics.type.has(name), `${app} ${name}`).toBe(true);
      expect(metrics.value('process_resident_memory_bytes'), app).toBeGreaterThan(0);
      const queueNames = [...metrics.names()].filter((name) => name.startsWith('conveyor_'));
      if (app === 'dashboard') expect(queueNames.length).toBeGreaterThan(0);
      else expect(queueNames, app).toEqual([]);
    }
  });
});

describe('the deploy/ examples', () => {
  interface AlertRule { alert?: string; record?: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }
  const alerts = parse(readFileSync(join(repoRoot, 'deploy/prometheus/alerts.yml'), 'utf8')) as { groups: { name: string; rules: AlertRule[] }[] };
  const grafana = JSON.parse(readFileSync(join(repoRoot, 'deploy/grafana/conveyor.json'), 'utf8')) as {
    title: string;
    templating: { list: { name: string; query?: string | { query: string } }[] };
    panels: { type: string; title: string; targets?: { expr: string }[] }[];
  };
  const rules = alerts.groups.flatMap((group) => group.rules);
  const panelExprs = grafana.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));
  const variableExprs = grafana.templating.list.flatMap((v) => {
    const query = typeof v.query === 'object' ? v.query.query : v.query;
    const labelValues = /^label_values\(([^,]+),/.exec(query ?? '');
    return labelValues ? [labelValues[1]!] : [];
  });

  it('are well-formed: named alert rules with a severity and a summary, panels with queries', () => {
    expect(rules.map((rule) => rule.alert)).toEqual([
      'ConveyorBacklogGrowing',
      'ConveyorOldestJobWaitingTooLong',
      'ConveyorFailureRateHigh',
      'ConveyorNoLiveWorkers',
      'ConveyorDeadLettersGrowing',
      'ConveyorQueueFiguresMissing',
    ]);
    for (const rule of rules) {
      expect(rule.expr.trim(), rule.alert).not.toBe('');
      expect(['warning', 'critical'], rule.alert).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      if (rule.for !== undefined) expect(rule.for, rule.alert).toMatch(/^\d+[smh]$/);
    }
    expect(grafana.title).toBe('Conveyor');
    expect(grafana.panels.filter((panel) => panel.type === 'timeseries').every((panel) => (panel.targets ?? []).length > 0)).toBe(true);
    // λ vs θ, W and S percentiles, backlog, failure rate.
    const all = panelExprs.join('\n');
    expect(all).toContain('rate(conveyor_jobs_arrived_total');
    expect(all).toContain('rate(conveyor_jobs_completed_total');
    expect(all).toMatch(/histogram_quantile\(0\.95, sum by \(queue, le\) \(rate\(conveyor_job_wait_seconds_bucket/);
    expect(all).toMatch(/histogram_quantile\(0\.95, sum by \(queue, le\) \(rate\(conveyor_job_service_seconds_bucket/);
    expect(all).toContain('conveyor_queue_backlog');
    expect(all).toContain('rate(conveyor_jobs_failed_total');
  });

  it('use only metric names the running dashboard exposes on /metrics', async () => {
    const { status, metrics } = await scrape(stack.dashboardUrl);
    expect(status).toBe(200);
    const exposed = metrics.names();
    for (const [family, type] of metrics.type) {
      if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) exposed.add(family + suffix);
    }
    const used = new Map<string, string>();
    for (const rule of rules) for (const name of metricNamesIn(rule.expr)) used.set(name, `alerts.yml ${rule.alert}`);
    for (const expr of [...panelExprs, ...variableExprs]) for (const name of metricNamesIn(expr)) used.set(name, `conveyor.json: ${expr}`);

    expect(used.size).toBeGreaterThan(10);
    const unknown = [...used].filter(([name]) => !exposed.has(name));
    expect(unknown, 'names used in deploy/ but not on /metrics').toEqual([]);
  });
});
