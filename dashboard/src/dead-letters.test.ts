import { randomBytes } from 'node:crypto';
import {
  createDeadLetterStore,
  createLogger,
  createPayloadSealer,
  formatAttemptLine,
  jobKinds,
  parsePayloadKeys,
  redisConnectionOptions,
  SENSITIVE_MASK,
  type DeadLetterStore,
  type FailureClass,
  queuePrefix,
} from '@conveyor/shared';
import { testPrefix } from '@conveyor/shared/testing';
import { Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { signIn, testUsers, type SignedIn } from './access-fixture.ts';
import type { AuditEntry } from './access/audit-log.ts';
import { startDashboard, type DashboardFixture } from './dashboard-fixture.ts';

const redisUrl = inject('redisUrl');
const sealer = createPayloadSealer({ keys: parsePayloadKeys(`k9:${randomBytes(32).toString('base64')}`) });
const secret = `secret-${randomBytes(6).toString('hex')}`;
/** What every audit entry has besides what a test names. */
const stamp = { id: expect.any(String), at: expect.any(String), ip: expect.any(String) };
const plainSecret = `plain-${randomBytes(6).toString('hex')}`;

describe('the dead-letter pages', () => {
  const prefix = testPrefix('dash-dlq');
  let dash: DashboardFixture;
  let store: DeadLetterStore;
  let viewer: SignedIn;
  let operator: SignedIn;

  /** Fails a job on its every attempt the way a worker does (attempt line, then failure), then dead-letters it. */
  async function failForGood(queue: string, name: string, jobId: string, data: unknown, failures: { message: string; class?: FailureClass }[]): Promise<void> {
    await dash.queues.get(queue as 'email').add(name as 'email.send', data as never, { jobId, attempts: failures.length, removeOnFail: false });
    const worker = new Worker(queue, null, { connection: redisConnectionOptions({ url: redisUrl, mode: 'wait-out' }), prefix: queuePrefix(prefix, queue) });
    worker.on('error', () => {});
    try {
      for (const [index, failure] of failures.entries()) {
        const job = await worker.getNextJob(`token-${index}`);
        if (job?.id !== jobId) throw new Error(`expected ${jobId}, got ${job?.id}`);
        const error = new Error(failure.message);
        await job.log(formatAttemptLine({ attempt: index + 1, class: failure.class ?? 'error', message: failure.message, stack: error.stack ?? '', at: new Date().toISOString(), worker: `test-host:${100 + index}` }));
        await job.moveToFailed(error, `token-${index}`);
      }
    } finally {
      await worker.close(true);
    }
    const result = await store.deadLetter({ id: jobId, queueName: queue });
    expect(result.outcome).toBe('recorded');
  }

  const as = (who: SignedIn, path: string, init: { method?: string; json?: unknown; form?: Record<string, string | string[]> } = {}) => {
    const headers: Record<string, string> = { cookie: who.cookie, origin: dash.url };
    let body: string | undefined;
    if (init.json !== undefined) {
      headers['content-type'] = 'application/json';
      headers['x-csrf-token'] = who.csrf;
      body = JSON.stringify(init.json);
    } else if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      const params = new URLSearchParams({ _csrf: who.csrf });
      for (const [key, value] of Object.entries(init.form)) for (const each of [value].flat()) params.append(key, each);
      body = params.toString();
    }
    return fetch(`${dash.url}${path}`, { method: init.method ?? (body ? 'POST' : 'GET'), headers, ...(body ? { body } : {}), redirect: 'manual' });
  };
  const ids = async (response: Response) => ((await response.json()) as { records: { id: string }[] }).records.map((r) => r.id).sort();

  beforeAll(async () => {
    const users = await testUsers({ ada: { role: 'operator', password: 'ada-password' }, bob: { role: 'viewer', password: 'bob-password' } });
    dash = await startDashboard({ redisUrl, prefix, access: { users, sessionSecret: 'dead-letters-test-secret-of-32-chars!!' } });
    store = createDeadLetterStore({ connection: dash.redis, prefix, logger: createLogger({ name: 'dlq-test', level: 'silent' }) });
    [viewer, operator] = await Promise.all([signIn(dash.url, 'bob', 'bob-password'), signIn(dash.url, 'ada', 'ada-password')]);

    await failForGood('email', 'email.send', 'mail-1', { to: 'ada@example.com', subject: 'Hi', body: plainSecret }, [
      { message: 'smtp down' },
      { message: 'smtp still down' },
    ]);
    await failForGood('email', 'email.send', 'mail-2', { to: 'bo@example.com', subject: 'Hi', body: 'x' }, [{ message: 'timeout after 100 ms', class: 'timeout' }]);
    const sealed = sealer.seal(jobKinds['email.send'], { to: 'cy@example.com', subject: 'Reset', body: secret });
    await failForGood('email', 'email.send', 'mail-sealed', sealed, [{ message: 'mailbox full', class: 'permanent' }]);
    await failForGood('webhook', 'webhook.deliver', 'hook-1', { url: 'https://example.com/h', event: 'e', payload: {} }, [{ message: 'HTTP 410', class: 'permanent' }]);
    await failForGood('webhook', 'webhook.deliver', 'hook-2', { url: 'https://example.com/h', event: 'e', payload: {} }, [{ message: 'HTTP 404', class: 'permanent' }]);
  });

  afterAll(async () => {
    await store?.close();
    await dash?.close();
  });

  it('lists records filtered by queue, kind, reason, error text and time, with counts per queue', async () => {
    const all = await as(viewer, '/api/dead-letters');
    expect(all.status).toBe(200);
    const body = (await all.json()) as { records: { id: string; data: unknown }[]; counts: Record<string, number> };
    expect(body.records.map((r) => r.id).sort()).toEqual(['hook-1', 'hook-2', 'mail-1', 'mail-2', 'mail-sealed']);
    expect(body.counts).toMatchObject({ email: 3, webhook: 2 });
    expect(JSON.stringify(body)).not.toContain(plainSecret);

    expect(await ids(await as(viewer, '/api/dead-letters?queue=webhook'))).toEqual(['hook-1', 'hook-2']);
    expect(await ids(await as(viewer, '/api/dead-letters?kind=email.send&reason=timeout'))).toEqual(['mail-2']);
    expect(await ids(await as(viewer, '/api/dead-letters?text=STILL%20down'))).toEqual(['mail-1']);
    expect(await ids(await as(viewer, '/api/dead-letters?from=2999-01-01T00:00'))).toEqual([]);
    expect(await ids(await as(viewer, '/api/dead-letters?to=2999-01-01T00:00&queue=email'))).toEqual(['mail-1', 'mail-2', 'mail-sealed']);

    const first = (await (await as(viewer, '/api/dead-letters?queue=email&limit=2')).json()) as { records: unknown[]; nextCursor?: string };
    expect(first.records).toHaveLength(2);
    expect(await ids(await as(viewer, `/api/dead-letters?queue=email&limit=2&cursor=${first.nextCursor}`))).toHaveLength(1);

    expect((await as(viewer, '/api/dead-letters?reason=bogus')).status).toBe(400);
    expect((await as(viewer, '/api/dead-letters?cursor=garbage')).status).toBe(400);

    const page = await (await as(viewer, '/dead-letters?queue=email')).text();
    expect(page).toContain('href="/dead-letters/email/mail-1"');
    expect(page).not.toContain('hook-1');
    expect(page).not.toContain('Redrive selected'); // a viewer gets no action forms
  });

  it('shows a record with every attempt and its sensitive fields masked', async () => {
    const page = await (await as(viewer, '/dead-letters/email/mail-1')).text();
    expect(page).toContain('smtp down');
    expect(page).toContain('smtp still down');
    expect(page).toContain('test-host:100');
    expect(page).toContain('test-host:101');
    expect(page).toMatch(/dead-letters\.test\.ts/); // the stack of each attempt
    expect(page).not.toContain(plainSecret);
    expect(page).toContain(`${SENSITIVE_MASK} (sensitive)`);

    const sealedPage = await (await as(viewer, '/dead-letters/email/mail-sealed')).text();
    expect(sealedPage).not.toContain(secret);
    expect(sealedPage).toContain(`${SENSITIVE_MASK} (encrypted, key k9)`);

    const json = (await (await as(viewer, '/api/dead-letters/email/mail-1')).json()) as { record: { attempts: unknown[]; data: { body: string } } };
    expect(json.record.attempts).toHaveLength(2);
    expect(json.record.data.body).toBe(`${SENSITIVE_MASK} (sensitive)`);
    expect((await as(viewer, '/api/dead-letters/email/missing')).status).toBe(404);
  });

  it('refuses redrive and purge to a viewer', async () => {
    for (const path of ['/api/dead-letters/redrive', '/api/dead-letters/purge']) {
      const response = await as(viewer, path, { json: { queue: 'email', filter: {}, confirm: 3 } });
      expect(response.status, path).toBe(403);
    }
    for (const path of ['/dead-letters/redrive', '/dead-letters/purge']) {
      const response = await as(viewer, path, { form: { scope: 'filter', queue: 'email', step: 'run', confirm: '3' } });
      expect(response.status, path).toBe(403);
    }
    expect(await store.count('email')).toBe(3);
  });

  it('refuses an edit that puts a sensitive value in plain text, and keeps sealed values left masked', async () => {
    const plain = await as(operator, '/api/dead-letters/redrive', { json: { queue: 'email', ids: ['mail-sealed'], edit: { to: 'cy@example.com', subject: 'Reset', body: 'typed in' } } });
    expect(plain.status).toBe(422);
    expect(((await plain.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'invalid_edit', message: expect.stringContaining('PAYLOAD_ENCRYPTION_KEYS') });
    expect(await store.get('email', 'mail-sealed')).toBeDefined();

    const before = (await store.get('email', 'mail-sealed'))!.data as { body: unknown };
    const kept = await as(operator, '/api/dead-letters/redrive', {
      json: { queue: 'email', ids: ['mail-sealed'], edit: { to: 'cy@example.com', subject: 'Reset, again', body: `${SENSITIVE_MASK} (encrypted, key k9)` } },
    });
    expect(kept.status).toBe(200);
    expect(await kept.json()).toMatchObject({ redriven: 1 });
    const job = await dash.queues.get('email').getJob('mail-sealed');
    expect(await job!.getState()).toBe('waiting');
    expect(job!.data).toEqual({ to: 'cy@example.com', subject: 'Reset, again', body: before.body });
    expect(await store.get('email', 'mail-sealed')).toBeUndefined();
  });

  it('counts in a dry run, then redrives everything matching the filter back to the source queue', async () => {
    const dry = await as(operator, '/api/dead-letters/redrive', { json: { queue: 'email', filter: {}, dryRun: true } });
    expect(dry.status).toBe(200);
    const preview = (await dry.json()) as { count: number; ids: { id: string }[] };
    expect(preview.count).toBe(2);
    expect(preview.ids.map((e) => e.id).sort()).toEqual(['mail-1', 'mail-2']);
    expect(await store.count('email')).toBe(2);

    const stale = await as(operator, '/api/dead-letters/redrive', { json: { queue: 'email', filter: {}, confirm: 5 } });
    expect(stale.status).toBe(409);
    expect(await store.count('email')).toBe(2);

    const run = await as(operator, '/api/dead-letters/redrive', { json: { queue: 'email', filter: {}, confirm: preview.count } });
    expect(await run.json()).toMatchObject({ matched: 2, redriven: 2, skipped: [], errors: [] });
    expect(await store.count('email')).toBe(0);
    const email = dash.queues.get('email');
    expect(await email.getJobState('mail-1')).toBe('waiting');
    expect(await email.getJobState('mail-2')).toBe('waiting');
    expect((await email.getJob('mail-1'))!.data).toMatchObject({ body: plainSecret });
    expect((await store.audit('email')).map((entry) => [entry.action, entry.by])).toContainEqual(['redrive', 'ada']);
  });

  it('purges only once confirm matches the current count', async () => {
    const wrong = await as(operator, '/api/dead-letters/purge', { json: { queue: 'webhook', ids: ['hook-1'], confirm: 2 } });
    expect(wrong.status).toBe(409);
    expect(((await wrong.json()) as { error: { code: string; details: unknown } }).error).toMatchObject({ code: 'count_changed', details: { confirmed: 2, current: 1 } });
    expect(await store.get('webhook', 'hook-1')).toBeDefined();

    const dry = (await (await as(operator, '/api/dead-letters/purge', { json: { queue: 'webhook', ids: ['hook-1'], dryRun: true } })).json()) as { matched: number };
    expect(dry.matched).toBe(1);
    const right = await as(operator, '/api/dead-letters/purge', { json: { queue: 'webhook', ids: ['hook-1'], confirm: dry.matched } });
    expect(await right.json()).toMatchObject({ purged: 1 });
    expect(await store.get('webhook', 'hook-1')).toBeUndefined();
    expect((await as(viewer, '/api/dead-letters/webhook/hook-1')).status).toBe(404);
    expect((await store.audit('webhook'))[0]).toMatchObject({ action: 'purge', by: 'ada', ids: ['hook-1'] });
  });

  it('purges from the page after a confirmation showing the count', async () => {
    const preview = await as(operator, '/dead-letters/purge', { form: { scope: 'filter', queue: 'webhook', text: '404' } });
    expect(preview.status).toBe(200);
    const page = await preview.text();
    expect(page).toContain('data-count="1"');
    expect(page).toContain('name="confirm" value="1"');
    expect(await store.count('webhook')).toBe(1);

    const stale = await as(operator, '/dead-letters/purge', { form: { scope: 'filter', queue: 'webhook', text: '404', step: 'run', confirm: '7' } });
    expect(stale.status).toBe(409);
    expect(await stale.text()).toContain('data-count="1"');
    expect(await store.count('webhook')).toBe(1);

    const run = await as(operator, '/dead-letters/purge', { form: { scope: 'filter', queue: 'webhook', text: '404', step: 'run', confirm: '1' } });
    expect(run.status).toBe(200);
    expect(await run.text()).toContain('Purged: <strong>1</strong>');
    expect(await store.count('webhook')).toBe(0);
  });

  it('redrives from the pages: selected records at once, all matching after a dry-run confirmation', async () => {
    await dash.queues.get('email').drain(); // the jobs redriven above would be taken first
    await failForGood('email', 'email.send', 'mail-3', { to: 'di@example.com', subject: 'Hi', body: 'x' }, [{ message: 'smtp down' }]);
    await failForGood('email', 'email.send', 'mail-4', { to: 'ed@example.com', subject: 'Hi', body: 'x' }, [{ message: 'smtp down' }]);
    const list = await (await as(operator, '/dead-letters?queue=email')).text();
    expect(list).toContain('name="sel" value="email/mail-3"');

    const selected = await as(operator, '/dead-letters/redrive', { form: { scope: 'selected', sel: ['email/mail-3'], step: 'run' } });
    expect(selected.status).toBe(200);
    expect(await selected.text()).toContain('Redriven: <strong>1</strong>');
    expect(await dash.queues.get('email').getJobState('mail-3')).toBe('waiting');

    const preview = await as(operator, '/dead-letters/redrive', { form: { scope: 'filter', queue: 'email', text: 'smtp' } });
    const page = await preview.text();
    expect(page).toContain('data-count="1"');
    expect(await store.count('email')).toBe(1);
    const run = await as(operator, '/dead-letters/redrive', { form: { scope: 'filter', queue: 'email', text: 'smtp', step: 'run', confirm: '1' } });
    expect(await run.text()).toContain('Redriven: <strong>1</strong>');
    expect(await dash.queues.get('email').getJobState('mail-4')).toBe('waiting');
  });

  it('writes every redrive and purge to the audit log: who, which queue, which records or filter, how many, dry run or not', async () => {
    const { entries } = (await (await as(operator, '/api/audit?limit=200')).json()) as { entries: AuditEntry[] };
    const ada = entries.filter((entry) => entry.user === 'ada' && entry.method === 'POST' && entry.path?.includes('dead-letters')).reverse();
    const session = { user: 'ada', via: 'session', method: 'POST' };
    expect(ada).toEqual([
      // The plain-text edit refused, then the one that kept the masked value.
      { ...session, ...stamp, path: '/api/dead-letters/redrive', action: 'deadletter.redrive', queue: 'email', jobs: 'ids: mail-sealed', dryRun: false, status: 422, detail: expect.stringMatching(/^invalid_edit: /) },
      { ...session, ...stamp, path: '/api/dead-letters/redrive', action: 'deadletter.redrive', queue: 'email', jobs: 'ids: mail-sealed', dryRun: false, status: 200, count: 1, detail: 'redriven 1 of 1 matched; skipped 0; failed 0' },
      // Everything matching the filter: the dry run, a stale confirm, the run.
      { ...session, ...stamp, path: '/api/dead-letters/redrive', action: 'deadletter.redrive', queue: 'email', jobs: 'filter: every record', dryRun: true, status: 200, count: 2, detail: 'dry run: would redrive 2 of 2 matched' },
      { ...session, ...stamp, path: '/api/dead-letters/redrive', action: 'deadletter.redrive', queue: 'email', jobs: 'filter: every record', dryRun: false, status: 409, detail: expect.stringMatching(/^count_changed: /) },
      { ...session, ...stamp, path: '/api/dead-letters/redrive', action: 'deadletter.redrive', queue: 'email', jobs: 'filter: every record', dryRun: false, status: 200, count: 2, detail: 'redriven 2 of 2 matched; skipped 0; failed 0' },
      { ...session, ...stamp, path: '/api/dead-letters/purge', action: 'deadletter.purge', queue: 'webhook', jobs: 'ids: hook-1', dryRun: false, status: 409, detail: expect.stringMatching(/^count_changed: /) },
      { ...session, ...stamp, path: '/api/dead-letters/purge', action: 'deadletter.purge', queue: 'webhook', jobs: 'ids: hook-1', dryRun: true, status: 200, count: 1, detail: 'dry run: would purge 1 matched' },
      { ...session, ...stamp, path: '/api/dead-letters/purge', action: 'deadletter.purge', queue: 'webhook', jobs: 'ids: hook-1', dryRun: false, status: 200, count: 1, detail: 'purged 1 of 1 matched' },
      // From the pages: a purge's confirmation, a stale confirm, the purge.
      { ...session, ...stamp, path: '/dead-letters/purge', action: 'deadletter.purge', queue: 'webhook', jobs: 'filter: text=404', dryRun: true, status: 200, count: 1, detail: 'dry run: would purge 1 matched' },
      { ...session, ...stamp, path: '/dead-letters/purge', action: 'deadletter.purge', queue: 'webhook', jobs: 'filter: text=404', dryRun: false, status: 409, detail: expect.stringMatching(/^count_changed: /) },
      { ...session, ...stamp, path: '/dead-letters/purge', action: 'deadletter.purge', queue: 'webhook', jobs: 'filter: text=404', dryRun: false, status: 200, count: 1, detail: 'purged 1 of 1 matched' },
      // A selected record at once; all matching after its dry run.
      { ...session, ...stamp, path: '/dead-letters/redrive', action: 'deadletter.redrive', queue: 'email', jobs: 'ids: mail-3', dryRun: false, status: 200, count: 1, detail: 'redriven 1 of 1 matched; skipped 0; failed 0' },
      { ...session, ...stamp, path: '/dead-letters/redrive', action: 'deadletter.redrive', queue: 'email', jobs: 'filter: text=smtp', dryRun: true, status: 200, count: 1, detail: 'dry run: would redrive 1 of 1 matched' },
      { ...session, ...stamp, path: '/dead-letters/redrive', action: 'deadletter.redrive', queue: 'email', jobs: 'filter: text=smtp', dryRun: false, status: 200, count: 1, detail: 'redriven 1 of 1 matched; skipped 0; failed 0' },
    ]);

    const page = await (await as(operator, '/audit')).text();
    expect(page).toMatch(
      /<tr data-action="deadletter\.purge">\s*<td><time[^>]*>[^<]*<\/time><\/td>\s*<td>ada <span class="muted">\(session\)<\/span><\/td>\s*<td><code>deadletter\.purge<\/code><\/td>\s*<td>webhook<\/td>\s*<td class="audit-jobs">filter: text=404<\/td>\s*<td class="num">1<\/td>\s*<td>purged 1 of 1 matched<\/td>/,
    );
    expect(page).toContain('<code>deadletter.redrive</code> <span class="badge dry-run">dry run</span>');
  });
});
