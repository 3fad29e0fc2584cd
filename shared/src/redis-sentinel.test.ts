import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeRedis, createRedis, isRedisReady } from './redis.ts';
import type { RedisTopology } from './redis-topology.ts';
import { startSentinelSet, waitFor, type SentinelSet } from './testing/index.ts';

const silent = pino({ level: 'silent' });
let set: SentinelSet;
let topology: RedisTopology;

beforeAll(async () => {
  set = await startSentinelSet({ downAfterMs: 1_000 });
  topology = {
    kind: 'sentinel',
    sentinels: set.sentinels.map((s) => ({ host: '127.0.0.1', port: s.port })),
    name: set.name,
    auth: {},
    sentinelAuth: {},
  };
}, 30_000);

afterAll(() => set?.stop());

describe('a Sentinel topology', () => {
  it('finds the master through the Sentinels, and both modes follow a promotion without a new client', async () => {
    const failFast = createRedis({ topology, mode: 'fail-fast', connectionName: 't:fail-fast', autoPipelining: true }, silent);
    const waitOut = createRedis({ topology, mode: 'wait-out', connectionName: 't:wait-out' }, silent);
    try {
      await waitFor(() => isRedisReady(failFast) && isRedisReady(waitOut), { what: 'both clients ready' });
      await failFast.set('before', '1');
      expect(await waitOut.get('before')).toBe('1');
      const oldRunId = /run_id:(\w+)/.exec(await failFast.info('server'))![1];
      expect(Number(/tcp_port:(\d+)/.exec(await failFast.info('server'))![1])).toBe(set.master.port);

      // A command the wait-out client issues during the outage is held and runs on the new master.
      await waitFor(() => waitOut.wait(1, 100).then((n) => n === 1), { what: 'the replica to catch up' });
      set.master.process.kill('SIGKILL');
      await waitFor(() => set.master.process.exitCode !== null || set.master.process.signalCode !== null, { what: 'the old master to die' });
      const held = waitOut.incr('during');

      await waitFor(async () => (await set.masterPort()) === set.replica.port, { what: 'the Sentinels to promote the replica', timeoutMs: 20_000 });
      expect(await held).toBe(1);
      // The fail-fast client refused while away, and answers from the promoted replica now.
      await waitFor(() => failFast.get('before').then((value) => value === '1').catch(() => false), { what: 'fail-fast to follow', timeoutMs: 15_000 });
      const info = await failFast.info();
      expect(/role:(\w+)/.exec(info)![1]).toBe('master');
      expect(Number(/tcp_port:(\d+)/.exec(info)![1])).toBe(set.replica.port);
      expect(/run_id:(\w+)/.exec(info)![1]).not.toBe(oldRunId);
      expect(await failFast.get('during')).toBe('1');
    } finally {
      await closeRedis(failFast, 1_000).catch(() => {});
      await closeRedis(waitOut, 1_000).catch(() => {});
    }
  }, 60_000);
});
