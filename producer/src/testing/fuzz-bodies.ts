/**
 * Test helper: the fuzz test's request bodies. Every route that takes a body, a valid body for
 * it (from the catalog's examples), and ways to break it that the catalog's schemas confirm:
 * a wrong type, a missing or unknown field, a bad option, a bad item in a bulk request.
 */
import { jobKinds, jobNames, topicNames, topics, type AnyJobKind, type AnyTopic } from '@conveyor/shared';
import type { Random } from './fuzz-random.ts';

export type Json = unknown;

export const kindOf = (name: string) => (jobKinds as Record<string, AnyJobKind>)[name]!;
const topicOf = (name: string) => (topics as Record<string, AnyTopic>)[name]!;
export const clone = <T>(value: T): T => structuredClone(value);

/** Values of every JSON type, to put one of another type in a field's place. */
const SAMPLES: Json[] = [0, -1, 1.5, 1e308, '', 'x', true, false, null, [], [1, 'a'], {}, { a: 1 }];
const jsonType = (value: Json) => (value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value);

/** Option values that are always refused. */
export const BAD_OPTIONS: Record<string, Json>[] = [
  { delayMs: -1 }, { delayMs: 1.5 }, { delayMs: '100' }, { delayMs: 1e300 }, { delayMs: 366 * 24 * 3600 * 1000 }, { delayMs: null },
  { priority: -1 }, { priority: 2_097_152 }, { priority: '1' }, { priority: 0.5 },
  { jobId: 'a:b' }, { jobId: '12345' }, { jobId: '~x' }, { jobId: 'wait' }, { jobId: '' }, { jobId: 'x'.repeat(129) }, { jobId: 42 }, { jobId: [] },
  { runAt: 'tomorrow' }, { runAt: '2026-13-45T00:00:00Z' }, { runAt: 12_345 }, { runAt: '2999-01-01T00:00:00Z' }, { runAt: '2026-01-01' },
  { runAt: '2030-01-01T00:00:00Z', delayMs: 5 },
];

export type BodyShape = 'one' | 'bulk' | 'mixed' | 'event' | 'schedule';

export interface BodyTarget {
  method: string;
  path: () => string;
  kind?: AnyJobKind;
  topic?: AnyTopic;
  shape: BodyShape;
}

export function createBodyFuzzer(random: Random) {
  // Targets that take a body, each with a valid body to start from.
  const scheduleId = () => `fuzz-${random.string(8)}`;
  const targets: BodyTarget[] = [
    ...jobNames.map((name) => ({ method: 'POST', path: () => `/v1/jobs/${name}`, kind: kindOf(name), shape: 'one' as const })),
    ...jobNames.map((name) => ({ method: 'POST', path: () => `/v1/jobs/${name}/bulk`, kind: kindOf(name), shape: 'bulk' as const })),
    { method: 'POST', path: () => '/v1/jobs:bulk', shape: 'mixed' },
    ...topicNames.map((name) => ({ method: 'POST', path: () => `/v1/events/${name}`, topic: topicOf(name), shape: 'event' as const })),
    ...jobNames.map((name) => ({ method: 'PUT', path: () => `/v1/schedules/${scheduleId()}`, kind: kindOf(name), shape: 'schedule' as const })),
  ];
  type Target = BodyTarget;

  function validBody(target: Target): Record<string, Json> {
    switch (target.shape) {
      case 'one':
        return { data: clone(target.kind!.example) };
      case 'bulk':
        return { jobs: [{ data: clone(target.kind!.example) }, { data: clone(target.kind!.example), delayMs: 1_000 }] };
      case 'mixed':
        return { jobs: jobNames.map((name) => ({ name, data: clone(kindOf(name).example) })) };
      case 'event':
        return { data: clone(target.topic!.example) };
      case 'schedule':
        return { name: target.kind!.name, data: clone(target.kind!.example), everyMs: 60_000 };
    }
  }

  /** A copy of `data` that `isValid` refuses: a field of the wrong type, a field removed, or one added. */
  function invalidPayload(data: Json, isValid: (value: Json) => boolean): Json {
    const record = data as Record<string, Json>;
    const keys = Object.keys(record);
    for (let tries = 0; tries < 6; tries++) {
      const mutated: Record<string, Json> = clone(record);
      const key = random.pick(keys);
      const roll = random.int(4);
      if (roll === 0) mutated[key] = random.pick(SAMPLES.filter((value) => jsonType(value) !== jsonType(record[key])));
      else if (roll === 1) delete mutated[key];
      else if (roll === 2) mutated[key] = typeof record[key] === 'string' ? `${random.weird()}${'x'.repeat(random.pick([0, 300, 3_000]))}` : random.weird();
      else return random.pick([42, 'data', [], null, true]);
      if (!isValid(mutated)) return mutated;
    }
    return { ...record, [`unknown_${random.string(4)}`]: random.weird() };
  }

  const kindValid = (kind: AnyJobKind) => (value: Json) => kind.schema.safeParse(value).success;

  /** A body for `target` that is refused for its content (it is well-formed JSON). */
  function invalidBody(target: Target): Record<string, Json> | Json {
    const body = validBody(target);
    const roll = random.int(10);
    if (roll === 0) return random.pick([[], 'text', 0, null, true, [body]]);
    if (roll === 1) return { ...body, [`extra_${random.string(3)}`]: 1 };
    switch (target.shape) {
      case 'one':
        if (roll < 5) return { ...body, ...random.pick(BAD_OPTIONS) };
        if (roll === 5) return random.pick([{}, { delayMs: 10 }, { ...body, idempotencyKey: 'k' }]);
        return { ...body, data: invalidPayload(body.data, kindValid(target.kind!)) };
      case 'bulk':
      case 'mixed': {
        const jobs = body.jobs as Json[];
        if (roll === 2) return { jobs: random.pick([{}, 'jobs', 7, null, []]) };
        const index = random.int(jobs.length);
        const item = jobs[index] as Record<string, Json>;
        const kind = target.kind ?? kindOf(item.name as string);
        if (roll === 3) jobs[index] = random.pick([null, 1, 'item', [item]]);
        else if (roll === 4) jobs[index] = { ...item, ...random.pick([...BAD_OPTIONS, { idempotencyKey: '' }, { idempotencyKey: 'k'.repeat(256) }]) };
        else if (roll === 5 && target.shape === 'mixed') jobs[index] = { ...item, name: random.pick(['email.nope', '', 5, null, `${item.name as string}${random.weird()}`]) };
        else jobs[index] = { ...item, data: invalidPayload(item.data, kindValid(kind)) };
        return { jobs };
      }
      case 'event': {
        if (roll < 4) return { ...body, id: random.pick(['', 'a:b', '123', '~e', 'x'.repeat(129), 42, {}, null]) };
        const topic = target.topic!;
        return { ...body, data: invalidPayload(body.data, (value) => topic.schema.safeParse(value).success) };
      }
      case 'schedule': {
        const timing = random.pick<Record<string, Json>>([
          { cron: 'every day' }, { cron: '0 3 * * * * *' }, { cron: '99 99 99 99 99' }, { cron: '0 3 * * *', tz: 'Mars/Olympus_Mons' },
          { everyMs: 999 }, { everyMs: 0 }, { everyMs: -5 }, { everyMs: 1.5 }, { everyMs: '60000' }, { cron: '0 3 * * *', everyMs: 60_000 }, { cron: '' },
        ]);
        if (roll < 5) {
          const { everyMs: _every, ...rest } = body;
          return { ...rest, ...timing };
        }
        if (roll === 5) return { ...body, name: random.pick(['email.nope', '', 7, null]) };
        if (roll === 6) {
          const { everyMs: _every, ...rest } = body;
          return rest;
        }
        return { ...body, data: invalidPayload(body.data, kindValid(target.kind!)) };
      }
    }
  }

  return { targets, validBody, invalidBody, scheduleId };
}
