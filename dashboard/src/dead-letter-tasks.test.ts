import { buildDeadLetterRecord, createDeadLetterStore, createLogger, deadLetterQueueName, jobKinds, type DeadLetterStore, type JobName, queuePrefix } from '@conveyor/shared';
import { testPrefix } from '@conveyor/shared/testing';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { signIn, testUsers, type SignedIn } from './access-fixture.ts';
import { startDashboard, type DashboardFixture } from './dashboard-fixture.ts';
import { taskSelectionOf } from './dead-letter-actions.ts';
import { startRedriveTask, taskKey, type RedriveTask } from './dead-letter-task.ts';
import { HttpError } from './http-error.ts';

const redisUrl = inject('redisUrl');
/** Redrives of more records than this run in the background in these tests. */
const THRESHOLD = 100;
const DEADLINE_MS = 30_000;
const logger = createLogger({ name: 'dlq-task-test', level: 'silent' });

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('redrives too large for one request', () => {
  const prefix = testPrefix('dash-dlq-task');
  let dash: DashboardFixture;
  let store: DeadLetterStore;
  let viewer: SignedIn;
  let operator: SignedIn;

  const as = (who: SignedIn, path: string, init: { json?: unknown; form?: Record<string, string | string[]> } = {}) => {
    const headers: Record<string, string> = { cookie: who.cookie, origin: dash.url };
    let body: string | undefined;
    if (init.json !== undefined) {
      Object.assign(headers, { 'content-type': 'application/json', 'x-csrf-token': who.csrf });
      body = JSON.stringify(init.json);
    } else if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      const params = new URLSearchParams({ _csrf: who.csrf });
      for (const [key, value] of Object.entries(init.form)) for (const each of [value].flat()) params.append(key, each);
      body = params.toString();
    }
    return fetch(`${dash.url}${path}`, { method: body ? 'POST' : 'GET', headers, ...(body ? { body } : {}), redirect: 'manual' });
  };

  /** Writes `count` records of `kind` straight into its queue's DLQ; returns their ids. */
  async function seed(kind: JobName, count: number, tag: string): Promise<string[]> {
    const queue = jobKinds[kind].queue;
    const dlq = new Queue(deadLetterQueueName(queue), { connection: dash.redis, prefix: queuePrefix(prefix, deadLetterQueueName(queue)) });
    dlq.on('error', () => {});
    const ids = Array.from({ length: count }, (_, i) => `${tag}-${i}`);
    try {
      await dlq.addBulk(
        ids.map((id) => {
          const job = { id, name: kind, data: jobKinds[kind].example, opts: { attempts: 1 }, failedReason: `${tag} failed`, attemptsMade: 1, timestamp: Date.now() };
          return { name: kind, data: buildDeadLetterRecord({ queue, job, logLines: [] }), opts: { jobId: id } };
        }),
      );
    } finally {
      await dlq.close();
    }
    return ids;
  }

  const taskOf = async (who: SignedIn, id: string) => ((await (await as(who, `/api/dead-letters/tasks/${id}`)).json()) as { task: RedriveTask }).task;

  /** Polls the task's JSON until it is no longer running; returns every `done` seen and the end state. */
  async function watch(who: SignedIn, id: string): Promise<{ seen: number[]; task: RedriveTask }> {
    const seen: number[] = [];
    const task = await until(`task ${id} to end`, async () => {
      const task = await taskOf(who, id);
      seen.push(task.done);
      return task.state === 'running' ? undefined : task;
    });
    return { seen, task };
  }

  const waitingIds = async (queue: 'email' | 'webhook' | 'report') => (await dash.queues.get(queue).getJobs(['waiting'], 0, -1)).map((job) => job.id!);

  beforeAll(async () => {
    const users = await testUsers({ ada: { role: 'operator', password: 'ada-password' }, bob: { role: 'viewer', password: 'bob-password' } });
    dash = await startDashboard({ redisUrl, prefix, redriveTaskThreshold: THRESHOLD, access: { users, sessionSecret: 'dead-letter-task-test-secret-32-chars!!' } });
    store = createDeadLetterStore({ connection: dash.redis, prefix, logger });
    [viewer, operator] = await Promise.all([signIn(dash.url, 'bob', 'bob-password'), signIn(dash.url, 'ada', 'ada-password')]);
  });

  afterAll(async () => {
    await store?.close();
    await dash?.close();
  });

  it('runs a large redrive in the background, answering 202 at once, and re-enqueues every record exactly once', async () => {
    const ids = await seed('email.send', 500, 'bulk');
    const dry = (await (await as(operator, '/api/dead-letters/redrive', { json: { queue: 'email', filter: {}, dryRun: true } })).json()) as { count: number };
    expect(dry.count).toBe(500);

    const started = await as(operator, '/api/dead-letters/redrive', { json: { queue: 'email', filter: {}, confirm: dry.count } });
    expect(started.status).toBe(202);
    const { task } = (await started.json()) as { task: RedriveTask };
    expect(task).toMatchObject({ state: 'running', total: 500, done: 0, redriven: 0, skipped: 0, errors: 0, startedBy: 'ada', selection: { scope: 'filter', filter: { queue: 'email' } } });
    expect(started.headers.get('location')).toBe(`/api/dead-letters/tasks/${task.id}`);

    // A viewer may watch it.
    const { seen, task: ended } = await watch(viewer, task.id);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(ended).toMatchObject({ state: 'done', total: 500, done: 500, redriven: 500, skipped: 0, errors: 0, finishedAt: expect.any(String) });

    const waiting = await waitingIds('email');
    expect(waiting).toHaveLength(500);
    expect(new Set(waiting)).toEqual(new Set(ids));
    expect(await store.count('email')).toBe(0);
    // Audited once, with the count, as a redrive within the request is.
    const trail = (await store.audit('email')).filter((entry) => entry.action === 'redrive');
    expect(trail.map((entry) => [entry.by, entry.count])).toEqual([['ada', 500]]);
    // …and the request once in the dashboard's log, with its 202: which records, how many, the task.
    const started202 = await until('the audit entry', async () => {
      const { entries } = (await (await as(operator, '/api/audit?limit=50')).json()) as { entries: { path?: string; status?: number; user: string }[] };
      const found = entries.filter((entry) => entry.path === '/api/dead-letters/redrive' && entry.status === 202);
      return found.length > 0 ? found : undefined;
    });
    expect(started202).toEqual([
      expect.objectContaining({
        user: 'ada', action: 'deadletter.redrive', queue: 'email', jobs: 'filter: every record', dryRun: false, count: 500,
        detail: `background task ${task.id} started for 500 records`,
      }),
    ]);

    const page = await as(viewer, `/dead-letters/tasks/${task.id}`);
    expect(page.status).toBe(200);
    const text = await page.text();
    expect(text).toContain('<progress id="dl-task-progress" max="500" value="500">');
    expect(text).toContain('data-state="done"');
    expect(text).toContain('every record where queue = email');
    expect(text).not.toContain('dead-letter-task.js'); // nothing left to poll
  });

  it('keeps a redrive within the threshold synchronous', async () => {
    await seed('report.generate', 3, 'small');
    const response = await as(operator, '/api/dead-letters/redrive', { json: { queue: 'report', filter: {}, confirm: 3 } });
    expect(response.status).toBe(200);
    expect(response.headers.get('location')).toBeNull();
    expect(await response.json()).toEqual({ dryRun: false, matched: 3, redriven: 3, skipped: [], errors: [] });
    await dash.queues.get('report').drain();
  });

  it('sends the form of a large redrive to the task page, which shows it to the end', async () => {
    const ids = await seed('webhook.deliver', THRESHOLD + 50, 'form');
    const run = await as(operator, '/dead-letters/redrive', { form: { scope: 'filter', queue: 'webhook', step: 'run', confirm: String(ids.length) } });
    expect(run.status).toBe(303);
    const location = run.headers.get('location')!;
    expect(location).toMatch(/^\/dead-letters\/tasks\/[\w-]+$/);
    const id = location.split('/').at(-1)!;

    const { task } = await watch(operator, id);
    expect(task).toMatchObject({ state: 'done', done: ids.length, redriven: ids.length });
    expect(new Set(await waitingIds('webhook'))).toEqual(new Set(ids));
    const page = await (await as(operator, location)).text();
    expect(page).toContain('Redrive done');
    expect(page).toContain(`value="${ids.length}"`);
  });

  it('redrives a large selection of named records on several queues as one task', async () => {
    await dash.queues.get('email').drain();
    await dash.queues.get('webhook').drain();
    const email = await seed('email.send', 60, 'pick');
    const webhook = await seed('webhook.deliver', 60, 'pick');
    const sel = [...email.map((id) => `email/${id}`), ...webhook.map((id) => `webhook/${id}`), 'email/pick-missing'];
    const run = await as(operator, '/dead-letters/redrive', { form: { scope: 'selected', sel } });
    expect(run.status).toBe(303);
    const id = run.headers.get('location')!.split('/').at(-1)!;

    const { seen, task } = await watch(operator, id);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(task).toMatchObject({ state: 'done', total: 121, done: 121, redriven: 120, skipped: 1, errors: 0, selection: { scope: 'ids', queues: ['email', 'webhook'], count: 121 } });
    expect(task.skippedRecords).toEqual([{ queue: 'email', id: 'pick-missing', reason: 'not-found' }]);
    expect(new Set(await waitingIds('email'))).toEqual(new Set(email));
    expect(new Set(await waitingIds('webhook'))).toEqual(new Set(webhook));
    expect(await (await as(operator, `/dead-letters/tasks/${id}`)).text()).toContain('email / pick-missing</a>: not-found');
  });

  it('makes two redrives of the same records at once harmless: each record goes back once', async () => {
    const ids = await seed('report.generate', 300, 'twice');
    const body = { json: { queue: 'report', filter: {} } };
    const answers = await Promise.all([as(operator, '/api/dead-letters/redrive', body), as(operator, '/api/dead-letters/redrive', body)]);
    let redriven = 0;
    for (const answer of answers) {
      const json = (await answer.json()) as { task?: RedriveTask; redriven?: number; error?: { code: string } };
      if (answer.status === 202) redriven += (await watch(operator, json.task!.id)).task.redriven;
      else if (answer.status === 200) redriven += json.redriven!; // started after the other ended: nothing left
      else expect(json.error?.code).toBe('redrive_running');
    }
    expect(redriven).toBe(300);
    const waiting = await waitingIds('report');
    expect(waiting).toHaveLength(300);
    expect(new Set(waiting)).toEqual(new Set(ids));
  });

  it('refuses a second task over the same records while the first runs, and reports progress in chunks', async () => {
    await dash.queues.get('email').drain();
    const ids = await seed('email.send', THRESHOLD + 20, 'gate');
    const deps = { redis: dash.redis, prefix, logger };
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let report!: (done: number) => void;
    const input = {
      // What a redrive of every email record failed with "gate" holds (a task started elsewhere).
      ...(() => {
        const { selection, key } = taskSelectionOf({ filter: { queue: 'email', text: 'gate' } });
        return { selection, selectionKey: key };
      })(),
      by: 'ada',
      total: 120,
      run: async (onProgress: (p: { total: number; done: number; redriven: number; skipped: number; errors: number }) => void) => {
        report = (done) => onProgress({ total: 120, done, redriven: done, skipped: 0, errors: 0 });
        await gate;
        return { dryRun: false, matched: 120, redriven: 120, skipped: [], errors: [] };
      },
    };
    const first = await startRedriveTask(deps, input);
    const refused = await startRedriveTask(deps, input).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(HttpError);
    expect(refused).toMatchObject({ status: 409, code: 'redrive_running', details: { task: { id: first.id } } });

    report(0);
    report(60);
    expect((await until('the first chunk', async () => ((await taskOf(viewer, first.id)).done === 60 ? true : undefined)))).toBe(true);
    const running = await as(viewer, `/dead-letters/tasks/${first.id}`);
    const page = await running.text();
    expect(page).toContain('<script src="/assets/dead-letter-task.js" defer></script>');
    expect(page).toContain('<noscript><meta http-equiv="refresh"');
    expect(page).toContain(`data-task-url="/api/dead-letters/tasks/${first.id}"`);
    expect((await fetch(`${dash.url}/assets/dead-letter-task.js`)).status).toBe(200);

    // The same records from the API and the form: refused, naming the running task; nothing redriven.
    const api = await as(operator, '/api/dead-letters/redrive', { json: { queue: 'email', filter: { text: 'gate' } } });
    expect(api.status).toBe(409);
    expect(((await api.json()) as { error: unknown }).error).toMatchObject({ code: 'redrive_running', details: { task: { id: first.id, location: `/api/dead-letters/tasks/${first.id}` } } });
    const form = await as(operator, '/dead-letters/redrive', { form: { scope: 'filter', queue: 'email', text: 'gate', step: 'run', confirm: String(ids.length) } });
    expect(form.status).toBe(409);
    expect(await form.text()).toContain(`href="/dead-letters/tasks/${first.id}"`);
    expect(await store.count('email')).toBe(ids.length);

    release();
    expect((await watch(viewer, first.id)).task).toMatchObject({ state: 'done', done: 120 });
    // Once it ended the same records may be redriven.
    const again = await as(operator, '/api/dead-letters/redrive', { json: { queue: 'email', filter: { text: 'gate' } } });
    expect(again.status).toBe(202);
    expect((await watch(viewer, ((await again.json()) as { task: RedriveTask }).task.id)).task).toMatchObject({ state: 'done', redriven: ids.length });
    expect(new Set(await waitingIds('email'))).toEqual(new Set(ids));
  });

  it('shows a task whose process stopped as interrupted, and says re-running is safe', async () => {
    const id = 'stale-task-0001';
    const stoppedAt = Date.now() - 60_000;
    await dash.redis.hset(taskKey(prefix, id), {
      id,
      action: 'redrive',
      state: 'running',
      total: 1000,
      done: 400,
      redriven: 390,
      skipped: 10,
      errors: 0,
      startedBy: 'ada',
      startedAt: new Date(stoppedAt - 5_000).toISOString(),
      heartbeatAt: stoppedAt,
      selection: JSON.stringify({ scope: 'filter', filter: { queue: 'email' } }),
    });
    expect(await taskOf(viewer, id)).toMatchObject({ state: 'interrupted', done: 400, total: 1000, heartbeatAt: new Date(stoppedAt).toISOString() });
    const page = await (await as(viewer, `/dead-letters/tasks/${id}`)).text();
    expect(page).toContain('Redrive interrupted');
    expect(page).toContain('Re-running the same redrive is safe');
    expect(page).not.toContain('dead-letter-task.js');
  });

  it('answers 404 for an unknown task, and keeps the redrive itself for operators', async () => {
    for (const path of ['/api/dead-letters/tasks/no-such-task', '/dead-letters/tasks/no-such-task', '/api/dead-letters/tasks/..%2Fx']) {
      expect((await as(viewer, path)).status, path).toBe(404);
    }
    const response = await as(viewer, '/api/dead-letters/redrive', { json: { queue: 'email', filter: {} } });
    expect(response.status).toBe(403);
    const form = await as(viewer, '/dead-letters/redrive', { form: { scope: 'filter', queue: 'email', step: 'run' } });
    expect(form.status).toBe(403);
  });
});
