import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, startApp, type AppProcess } from '@conveyor/shared/testing';
import { getJson, postJson, repoRoot } from './stack.ts';

const running: AppProcess[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((proc) => proc.stop('SIGTERM', 60_000)));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function startLocal(dataDir: string) {
  const [producer, worker, dashboard] = await Promise.all([freePort(), freePort(), freePort()]);
  const proc = startApp(join(repoRoot, 'scripts', 'start-local.ts'), {
    CONVEYOR_DATA_DIR: dataDir,
    PRODUCER_PORT: String(producer),
    WORKER_PORT: String(worker),
    DASHBOARD_PORT: String(dashboard),
    EMAIL_LATENCY_MS: '0',
  }, repoRoot);
  running.push(proc);
  await proc.waitForOutput(/Ctrl-C stops everything/, 30_000);
  return { proc, producerUrl: `http://127.0.0.1:${producer}`, dashboardUrl: `http://127.0.0.1:${dashboard}` };
}

describe('npm start (scripts/start-local.ts)', () => {
  it('starts Redis and the three apps, runs a job, stops cleanly, and keeps jobs across a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'conveyor-start-'));
    dirs.push(dataDir);

    const first = await startLocal(dataDir);
    expect(first.proc.output()).toMatch(/started redis-server on redis:\/\/127\.0\.0\.1:\d+/);
    expect(first.proc.output()).not.toMatch(/redis:\/\/127\.0\.0\.1:6379\b/);
    expect(first.proc.output()).toContain(`  producer   ${first.producerUrl}   (POST`);
    expect(first.proc.output()).toMatch(new RegExp(`  dashboard  ${first.dashboardUrl}\n`));

    // A delayed job stays in Redis, so it must still be there after a restart.
    const created = await postJson(`${first.producerUrl}/v1/jobs/email.send`, {
      data: { to: 'ada@example.com', subject: 'later', body: 'b' },
      delayMs: 3_600_000,
    });
    expect(created.status).toBe(201);
    const stopped = await first.proc.stop('SIGTERM', 60_000);
    expect(stopped.code).toBe(0);
    expect(first.proc.output()).toMatch(/conveyor: stopped/);

    const second = await startLocal(dataDir);
    const { status, body } = await getJson(`${second.producerUrl}/v1/jobs/email.send/${created.body.id}`);
    expect(status).toBe(200);
    expect(body.state).toBe('delayed');
    expect((await second.proc.stop('SIGTERM', 60_000)).code).toBe(0);
  });
});
