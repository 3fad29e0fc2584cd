/** The dashboard process with a rules file: it evaluates on its own loop and POSTs to the webhook; a bad file stops start-up. */
import { startApp, testPrefix, waitFor, type AppProcess } from '@conveyor/shared/testing';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';

const entry = fileURLToPath(new URL('../main.ts', import.meta.url));
const cwd = fileURLToPath(new URL('../..', import.meta.url));
const listening = /dashboard listening on http:\/\/127\.0\.0\.1:(\d+)/;
const dir = mkdtempSync(join(tmpdir(), 'alerts-main-'));

describe('dashboard process with alert rules', () => {
  let app: AppProcess | undefined;
  afterEach(async () => {
    await app?.stop('SIGKILL');
    app = undefined;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('evaluates on its loop, sends the webhook, shows the alert and stops cleanly', async () => {
    const received: { rule: string; queue: string; state: string }[] = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        received.push(JSON.parse(body) as (typeof received)[number]);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const rulesFile = join(dir, 'rules.json');
      const webhookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
      writeFileSync(rulesFile, JSON.stringify({ webhookUrl, rules: [{ name: 'no workers', queue: 'email', when: { noLiveWorkers: true } }] }));
      app = startApp(
        entry,
        { REDIS_URL: inject('redisUrl'), CONVEYOR_PREFIX: testPrefix('alerts-main'), HOST: '127.0.0.1', PORT: '0', DASHBOARD_ALERT_RULES_FILE: rulesFile, DASHBOARD_ALERT_INTERVAL_MS: '1000', DASHBOARD_PUBLIC_URL: 'https://ops.example.com/conveyor' },
        cwd,
      );
      const url = `http://127.0.0.1:${listening.exec(await app.waitForOutput(listening))![1]}`;
      await waitFor(() => received.length > 0, { what: 'the firing webhook' });
      expect(received).toEqual([expect.objectContaining({ rule: 'no workers', queue: 'email', state: 'firing', dashboardUrl: 'https://ops.example.com/conveyor/alerts' })]);
      const api = (await (await fetch(`${url}/api/alerts`)).json()) as { alerts: { state: string }[] };
      expect(api.alerts.map((a) => a.state)).toEqual(['firing']);
      expect(await (await fetch(`${url}/`)).text()).toContain('1 alert firing');
      expect(await app.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    } finally {
      await new Promise((resolve) => receiver.close(resolve));
    }
  });

  it('refuses to start with a bad rules file, naming the rule and field', async () => {
    const rulesFile = join(dir, 'bad.json');
    writeFileSync(rulesFile, JSON.stringify({ rules: [{ name: 'x', queue: 'email', when: { backlogAbove: -1 } }] }));
    app = startApp(entry, { REDIS_URL: inject('redisUrl'), HOST: '127.0.0.1', PORT: '0', DASHBOARD_ALERT_RULES_FILE: rulesFile }, cwd);
    expect((await app.exited).code).toBe(2);
    expect(app.output()).toContain('DASHBOARD_ALERT_RULES_FILE: rules[0] ("x").when.backlogAbove');
  });
});
