import { describe, expect, it } from 'vitest';
import { chooseListenHost, isLoopbackHost, LOOPBACK_HOST } from './listen-host.ts';

describe('isLoopbackHost', () => {
  it('knows loopback addresses in their usual spellings', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', 'app.localhost', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
  });

  it('treats every other address and any other name as reachable from outside', () => {
    for (const host of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.2', '::ffff:10.0.0.1', 'producer', 'example.com', '128.0.0.1']) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });
});

describe('chooseListenHost', () => {
  it('binds HOST as given when API keys are configured', () => {
    expect(chooseListenHost({ host: '0.0.0.0', apiKeysConfigured: true })).toEqual({ host: '0.0.0.0' });
    expect(chooseListenHost({ host: '127.0.0.1', apiKeysConfigured: true })).toEqual({ host: '127.0.0.1' });
  });

  it('binds loopback instead of a public HOST without keys, and says why and how to fix it', () => {
    const choice = chooseListenHost({ host: '0.0.0.0', apiKeysConfigured: false });
    expect(choice.host).toBe(LOOPBACK_HOST);
    expect(choice.warning).toMatch(/PRODUCER_API_KEYS is not set/);
    expect(choice.warning).toContain('HOST=0.0.0.0');
    expect(choice.warning).toMatch(/Set PRODUCER_API_KEYS/);
  });

  it('keeps a loopback HOST without keys, still warning that the API is unauthenticated', () => {
    const choice = chooseListenHost({ host: '::1', apiKeysConfigured: false });
    expect(choice.host).toBe('::1');
    expect(choice.warning).toMatch(/PRODUCER_API_KEYS is not set: the \/v1 API accepts requests without a key/);
  });
});
