import { ConfigError } from '@conveyor/shared';
import { describe, expect, it } from 'vitest';
import { DEV_WEBHOOK_SIGNING_SECRET, loadWorkerConfig, resolveConcurrency, resolveFleetLimits } from './config.ts';

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

describe('fleet-wide limits', () => {
  it('has none unless the catalog or the environment sets them', () => {
    expect(loadWorkerConfig({}).fleetLimits).toEqual({ email: {}, webhook: {}, report: {} });
  });

  it('reads per-queue WORKER_GLOBAL_CONCURRENCY and WORKER_RATE_LIMIT for the selected queues', () => {
    const config = loadWorkerConfig({
      WORKER_QUEUES: 'email,webhook',
      WORKER_GLOBAL_CONCURRENCY: 'email=20, webhook=5',
      WORKER_RATE_LIMIT: 'email=100/1000,report=1/60000',
    });
    expect(config.fleetLimits).toEqual({
      email: { globalConcurrency: 20, rateLimit: { max: 100, durationMs: 1_000 } },
      webhook: { globalConcurrency: 5 },
    });
  });

  it('prefers the environment over the catalog, and lets `none` lift a catalog limit', () => {
    const declared = { globalConcurrency: 3, rateLimit: { max: 10, durationMs: 1_000 } };
    expect(resolveFleetLimits(declared, {})).toEqual(declared);
    expect(resolveFleetLimits(declared, { globalConcurrency: 7 })).toEqual({ ...declared, globalConcurrency: 7 });
    expect(resolveFleetLimits(declared, { rateLimit: { max: 1, durationMs: 5 } })).toEqual({ globalConcurrency: 3, rateLimit: { max: 1, durationMs: 5 } });
    expect(resolveFleetLimits(declared, { globalConcurrency: 'none', rateLimit: 'none' })).toEqual({});
    expect(resolveFleetLimits({}, { globalConcurrency: 'none' })).toEqual({});
    expect(loadWorkerConfig({ WORKER_GLOBAL_CONCURRENCY: 'email=none', WORKER_RATE_LIMIT: 'email=none' }).fleetLimits.email).toEqual({});
  });

  it('refuses malformed, unknown, repeated or out-of-range limits, naming the variable', () => {
    const error = configError({
      WORKER_GLOBAL_CONCURRENCY: 'email=0,sms=3,webhook,report=2,report=4',
      WORKER_RATE_LIMIT: 'email=100,webhook=0/1000,report=5/0,sms=1/1',
    });
    const byVariable = (variable: string) =>
      error.problems.filter((p) => p.variable === variable).map((p) => p.message).join('\n');
    const concurrency = byVariable('WORKER_GLOBAL_CONCURRENCY');
    expect(concurrency).toContain('limit of "email": globalConcurrency must be an integer ≥ 1');
    expect(concurrency).toContain('unknown queue "sms"');
    expect(concurrency).toContain('"webhook" is not queue=number or queue=none');
    expect(concurrency).toContain('queue "report" is given twice');
    const rate = byVariable('WORKER_RATE_LIMIT');
    expect(rate).toContain('"email=100" is not queue=max/durationMs or queue=none (e.g. email=100/1000)');
    expect(rate).toContain('limit of "webhook": rateLimit.max must be an integer ≥ 1');
    expect(rate).toContain('limit of "report": rateLimit.durationMs must be an integer ≥ 1');
    expect(rate).toContain('unknown queue "sms"');
  });
});
