/** GET /alerts, GET /api/alerts and the overview's firing banner, over real HTTP against a real Redis. */
import { createLogger, createRedis, jobKinds, openCatalogQueues, type CatalogQueues } from '@conveyor/shared';
import { testPrefix, waitFor } from '@conveyor/shared/testing';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { basic, testUsers } from '../access-fixture.ts';
import { createApp } from '../app.ts';
import { startHttpServer } from '../http-server.ts';
import { createAlertEvaluator, type AlertEvaluator } from './alert-evaluator.ts';
import { parseAlertRules } from './alert-rules.ts';

describe('alerts pages', () => {
  const logger = createLogger({ name: 'alerts-routes-test', level: 'silent' });
  const prefix = testPrefix('alerts-routes');
  let redis: Redis;
  let queues: CatalogQueues;
  let alerts: AlertEvaluator;
  let http: { url: string; close(): Promise<void> };
  let viewer: string;

  beforeAll(async () => {
    redis = createRedis({ url: inject('redisUrl'), mode: 'fail-fast', connectionName: 'conveyor:alerts-routes-test' }, logger);
    await waitFor(() => redis.status === 'ready', { what: 'Redis ready' });
    queues = openCatalogQueues({ connection: redis, prefix, logger, deadLetters: true });
    alerts = createAlertEvaluator({
      redis,
      prefix,
      queues,
      logger,
      rules: parseAlertRules({
        rules: [
          { name: 'report <backlog>', queue: 'report', when: { backlogAbove: 0 } },
          { name: 'slow email', queue: 'email', when: { oldestWaitingSecAbove: 600 }, for: 60 },
        ],
      }),
    });
    const users = await testUsers({ vera: { role: 'viewer', password: 'viewer-password' } });
    viewer = basic('vera', 'viewer-password');
    http = await startHttpServer(createApp({ queues, redis, prefix, logger, alerts, access: { users } }), { host: '127.0.0.1', port: 0 });
    await queues.get('report').add('report.generate', jobKinds['report.generate'].example);
    await alerts.evaluateOnce();
  });

  afterAll(async () => {
    await http.close();
    await alerts.close();
    await queues.close();
    redis.disconnect();
  });

  it('lists every rule and its state as JSON, for viewers', async () => {
    expect((await fetch(`${http.url}/api/alerts`)).status).toBe(401);
    const response = await fetch(`${http.url}/api/alerts`, { headers: { authorization: viewer } });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { configured: boolean; evaluatedAt: string; alerts: Record<string, unknown>[] };
    expect(body.configured).toBe(true);
    expect(Date.parse(body.evaluatedAt)).not.toBeNaN();
    expect(body.alerts).toEqual([
      expect.objectContaining({ rule: 'report <backlog>', queue: 'report', condition: 'backlogAbove', state: 'firing', value: 1, threshold: 0 }),
      expect.objectContaining({ rule: 'slow email', queue: 'email', condition: 'oldestWaitingSecAbove', state: 'ok', forSec: 60, since: null }),
    ]);
  });

  it('renders the alerts page with each state, escaped', async () => {
    const page = await (await fetch(`${http.url}/alerts`, { headers: { authorization: viewer } })).text();
    expect(page).toContain('<h1>Alerts</h1>');
    expect(page).toContain('data-rule="report &lt;backlog&gt;" data-queue="report" data-state="firing"');
    expect(page).toContain('data-rule="slow email" data-queue="email" data-state="ok"');
    expect(page).toContain('<a href="/alerts">Alerts</a>');
  });

  it('shows the firing alerts in a banner at the top of the overview', async () => {
    const page = await (await fetch(`${http.url}/`, { headers: { authorization: viewer } })).text();
    const banner = /<div class="banner alerts-firing"[\s\S]*?<\/div>/.exec(page)?.[0] ?? '';
    expect(banner).toContain('1 alert firing');
    expect(banner).toContain('<strong>report &lt;backlog&gt;</strong> on <code>report</code>');
    expect(banner).not.toContain('slow email');
    expect(page.indexOf('alerts-firing')).toBeLessThan(page.indexOf('<h1>Queues</h1>'));
  });

  it('says so when no rules file is configured', async () => {
    const bare = await startHttpServer(createApp({ queues, redis, prefix, logger }), { host: '127.0.0.1', port: 0 });
    try {
      expect(await (await fetch(`${bare.url}/api/alerts`)).json()).toEqual({ configured: false, evaluatedAt: null, alerts: [] });
      expect(await (await fetch(`${bare.url}/alerts`)).text()).toContain('No alert rules configured');
      expect(await (await fetch(`${bare.url}/`)).text()).not.toContain('alerts-firing');
    } finally {
      await bare.close();
    }
  });
});
