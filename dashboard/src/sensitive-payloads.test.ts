import { randomBytes } from 'node:crypto';
import { buildDeadLetterRecord, createPayloadSealer, jobKinds, parsePayloadKeys } from '@conveyor/shared';
import { testPrefix } from '@conveyor/shared/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startDashboard, type DashboardFixture } from './dashboard-fixture.ts';

const emailSend = jobKinds['email.send'];
const sealer = createPayloadSealer({ keys: parsePayloadKeys(`k7:${randomBytes(32).toString('base64')}`) });
const canary = `canary-${randomBytes(8).toString('hex')}`;
const legacyCanary = `legacy-${randomBytes(8).toString('hex')}`;
const sealed = sealer.seal(emailSend, { to: 'ada@example.com', subject: 'Reset your password', body: canary }) as Record<string, unknown>;

describe('the board shows sensitive fields masked', () => {
  let dash: DashboardFixture;

  beforeAll(async () => {
    dash = await startDashboard({ redisUrl: inject('redisUrl'), prefix: testPrefix('dash-sensitive') });
    const email = dash.queues.get('email');
    await email.add('email.send', sealed, { jobId: 'sealed' });
    // A job from before `body` was marked sensitive: plain text, masked all the same.
    await email.add('email.send', { to: 'bo@example.com', subject: 'Old', body: legacyCanary }, { jobId: 'legacy' });
    const record = buildDeadLetterRecord({
      queue: 'email',
      job: { id: 'dead', name: 'email.send', data: sealed, opts: { attempts: 1 }, failedReason: 'boom', attemptsMade: 1, timestamp: Date.now() },
      logLines: [],
    });
    const dlq = dash.queues.deadLetterQueue('email');
    await dlq.pause();
    await dlq.add('email.send', record, { jobId: 'dead' });
  });

  afterAll(async () => {
    await dash?.close();
  });

  const getText = async (path: string) => {
    const response = await fetch(`${dash.url}${path}`);
    expect(response.status, path).toBe(200);
    return response.text();
  };

  it('masks job payloads, in the list and on the job page', async () => {
    for (const path of ['/queues/api/queues?activeQueue=email&status=waiting', '/queues/api/queues/email/sealed', '/queues/api/queues/email/legacy']) {
      const text = await getText(path);
      expect(text).not.toContain(canary);
      expect(text).not.toContain(legacyCanary);
      expect(text).not.toContain((sealed.body as { ct: string }).ct);
      expect(text).toContain('•••••');
    }
    const { job } = JSON.parse(await getText('/queues/api/queues/email/sealed')) as { job: { data: unknown } };
    expect(job.data).toEqual({ to: 'ada@example.com', subject: 'Reset your password', body: '••••• (encrypted, key k7)' });
    const legacy = JSON.parse(await getText('/queues/api/queues/email/legacy')) as { job: { data: unknown } };
    expect(legacy.job.data).toMatchObject({ body: '••••• (sensitive)' });
  });

  it('masks the payload inside dead-letter records', async () => {
    const text = await getText('/queues/api/queues/email-dlq/dead');
    expect(text).not.toContain(canary);
    expect(text).not.toContain((sealed.body as { ct: string }).ct);
    const { job } = JSON.parse(text) as { job: { data: { name: string; data: unknown } } };
    expect(job.data.name).toBe('email.send');
    expect(job.data.data).toEqual({ to: 'ada@example.com', subject: 'Reset your password', body: '••••• (encrypted, key k7)' });
  });

  it('refuses adding or editing jobs on a queue with sensitive kinds, and allows it elsewhere', async () => {
    // Each request carries the Origin a browser on bull-board's page sends: its CSRF defence (access/csrf.ts).
    const add = await fetch(`${dash.url}/queues/api/queues/email/add`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: dash.url },
      body: JSON.stringify({ name: 'email.send', data: { to: 'x@example.com', subject: 's', body: 'plain secret' } }),
    });
    expect(add.status).toBe(409);
    expect(((await add.json()) as { error: { code: string } }).error.code).toBe('sensitive_payload');
    const edit = await fetch(`${dash.url}/queues/api/queues/email/sealed/update-data`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', origin: dash.url },
      body: JSON.stringify({ jobData: { to: 'ada@example.com', subject: 'x', body: '••••• (encrypted, key k7)' } }),
    });
    expect(edit.status).toBe(409);
    expect((await dash.queues.get('email').getJob('sealed'))!.data).toEqual(sealed);
    expect(await dash.queues.get('email').getJob('legacy')).toBeDefined();

    const report = await fetch(`${dash.url}/queues/api/queues/report/add`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: dash.url },
      body: JSON.stringify({ name: 'report.generate', data: jobKinds['report.generate'].example }),
    });
    expect(report.status).toBe(200);
  });
});
