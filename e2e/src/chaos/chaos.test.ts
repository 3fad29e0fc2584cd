/**
 * The short version of the chaos suite (`npm run chaos` is the full one): every case at its
 * quick size, against its own redis-server and real producer/worker processes. A case
 * reports broken guarantees as problems; here each must have none, and the figures that
 * carry the guarantee are checked again by name so a renamed figure cannot pass silently.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { chaosCases, formatTable, runCase, type CaseResult } from './cases.ts';

const results: CaseResult[] = [];

afterAll(() => {
  if (results.length > 0) console.log(`chaos (quick):\n${formatTable(results)}`);
});

async function run(id: number): Promise<CaseResult> {
  const chaosCase = chaosCases.find((c) => c.id === id)!;
  const result = await runCase(chaosCase, { quick: true });
  results.push(result);
  expect(result.problems).toEqual([]);
  return result;
}

describe('chaos (quick)', { timeout: 150_000 }, () => {
  it('1: SIGKILLed and restarted workers lose no job', async () => {
    const { figures } = await run(1);
    expect(figures.lost).toBe(0);
    expect(figures.completed).toBe(figures.acknowledged);
    expect(figures.kills).toBeGreaterThanOrEqual(3);
    expect(typeof figures['duplicate executions']).toBe('number');
  });

  it('2: a Redis SIGKILL with appendfsync always loses no acknowledged job; without persistence it does', async () => {
    const { figures, control } = await run(2);
    expect(figures.lost).toBe(0);
    expect(figures['waiting at crash']).toBeGreaterThan(0);
    expect(control?.showedLoss).toBe(true);
    expect(control?.figures.lost).toBeGreaterThan(0);
  });

  it('3: a Redis outage is answered 503 fast, nothing hangs, nothing acknowledged is lost', async () => {
    const { figures } = await run(3);
    expect(figures['sent during outage']).toBeGreaterThan(0);
    expect(figures['503 during outage']).toBe(figures['sent during outage']);
    expect(figures.hung).toBe(0);
    expect(figures.lost).toBe(0);
  });

  it('4: a handler that always throws runs exactly `attempts` times, then one dead-letter record', async () => {
    const { figures } = await run(4);
    expect(figures.runs).toBe(5);
    expect(figures['errors recorded']).toBe(5);
    expect(figures['dead-letter records']).toBe(1);
  });

  it('5: a poison payload is dead-lettered as validation without retries', async () => {
    const { figures } = await run(5);
    expect(figures.reasons).toBe('validation / validation');
    expect(figures['runs (invalid payload / unknown kind)']).toBe('1 / 1');
  });

  it('6: SIGTERM during long jobs loses none and leaves none active or stalled', async () => {
    const { figures } = await run(6);
    expect(figures['active after exit']).toBe(0);
    expect(figures.stalled).toBe(0);
    expect(figures.lost).toBe(0);
  });

  it('7: an idle worker runs new jobs soon after a Redis outage and a CLIENT KILL', async () => {
    const { figures } = await run(7);
    expect(figures['connections killed']).toBeGreaterThan(0);
  });

  it('8: a hanging handler times out and the worker keeps serving', async () => {
    const { figures } = await run(8);
    expect(figures['failure class']).toBe('timeout / timeout');
    expect(figures['other webhooks delivered']).toBe(10);
  });

  it('9: with Sentinel, producer and worker follow a SIGKILLed master\'s promotion; durable enqueue loses nothing', async () => {
    const { figures } = await run(9);
    expect(figures['async: acknowledged before the kill']).toBeGreaterThan(0);
    expect(typeof figures['async: lost']).toBe('number');
    expect(figures['durable: acknowledged before the kill']).toBeGreaterThan(0);
    expect(figures['durable: lost']).toBe(0);
  });
});
