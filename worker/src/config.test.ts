import { ConfigError } from '@conveyor/shared';
import { describe, expect, it } from 'vitest';
import { DEV_WEBHOOK_SIGNING_SECRET, loadWorkerConfig, resolveConcurrency } from './config.ts';

function configError(env: Record<string, string>): ConfigError {
  try {
    loadWorkerConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadWorkerConfig', () => {
  it('uses the local-development defaults when nothing is set', () => {
    const config = loadWorkerConfig({});
    expect(config).toMatchObject({
      redisTopology: { kind: 'standalone', host: '127.0.0.1', port: 6379, auth: {} },
      prefix: 'conveyor',
      host: '127.0.0.1',
      port: 3002,
      queues: ['email', 'webhook', 'report'],
      concurrency: { email: 10, webhook: 10, report: 2 },
      shutdownTimeoutMs: 30_000,
      email: { latencyMs: 50 },
      webhook: { signingSecret: DEV_WEBHOOK_SIGNING_SECRET, usesDevSecret: true, timeoutMs: 10_000, allowedHosts: [] },
      report: { stepDelayMs: 100 },
    });
  });

  it('selects queues, takes port 0 and latency 0, and normalizes allowed hosts', () => {
    const config = loadWorkerConfig({
      WORKER_QUEUES: ' report , email,report',
      PORT: '0',
      EMAIL_LATENCY_MS: '0',
      WEBHOOK_SIGNING_SECRET: 's3cret',
      WEBHOOK_ALLOWED_HOSTS: 'Hooks.Internal, [::1],127.0.0.1',
    });
    expect(config.queues).toEqual(['report', 'email']);
    expect(Object.keys(config.concurrency)).toEqual(['report', 'email']);
    expect(config.port).toBe(0);
    expect(config.email.latencyMs).toBe(0);
    expect(config.webhook).toMatchObject({ signingSecret: 's3cret', usesDevSecret: false });
    expect(config.webhook.allowedHosts).toEqual(['hooks.internal', '::1', '127.0.0.1']);
  });

  it('refuses unknown queues, naming them and listing the known ones', () => {
    const error = configError({ WORKER_QUEUES: 'email,sms,fax' });
    expect(error.message).toContain('WORKER_QUEUES');
    expect(error.message).toContain('unknown queues "sms", "fax"; known queues: email, webhook, report');
  });

  it('names every bad variable in one error', () => {
    const error = configError({ PORT: '70000', WORKER_CONCURRENCY: '0', WEBHOOK_TIMEOUT_MS: 'soon', LOG_LEVEL: 'loud' });
    expect(error.problems.map((p) => p.variable).sort()).toEqual([
      'LOG_LEVEL',
      'PORT',
      'WEBHOOK_TIMEOUT_MS',
      'WORKER_CONCURRENCY',
    ]);
  });

  it('refuses malformed, unknown or out-of-range per-queue concurrency', () => {
    const error = configError({ WORKER_QUEUE_CONCURRENCY: 'report=2,email,sms=3,webhook=0' });
    const messages = error.problems.map((p) => p.message).join('\n');
    expect(messages).toContain('"email" is not queue=number');
    expect(messages).toContain('unknown queue "sms"');
    expect(messages).toContain('concurrency of "webhook" must be between 1 and 1000');
  });
});

describe('concurrency precedence', () => {
  it('prefers WORKER_QUEUE_CONCURRENCY, then the catalog, then WORKER_CONCURRENCY', () => {
    const config = loadWorkerConfig({ WORKER_CONCURRENCY: '7', WORKER_QUEUE_CONCURRENCY: 'email=50' });
    expect(config.concurrency).toEqual({ email: 50, webhook: 7, report: 2 });
    expect(resolveConcurrency('report', { defaultConcurrency: 7, overrides: { report: 4 } })).toBe(4);
    expect(resolveConcurrency('report', { defaultConcurrency: 7, overrides: {} })).toBe(2);
    expect(resolveConcurrency('webhook', { defaultConcurrency: 7, overrides: {} })).toBe(7);
  });
});
