/**
 * The development payload key of docker-compose.yml: one key shared by the producer (which
 * encrypts) and the workers (which decrypt), a valid one, and overridable from the shell.
 * (`npm start`'s key is exercised by start-local.test.ts, which enqueues an email.send.)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEV_PAYLOAD_KEY_ID, parsePayloadKeys } from '@conveyor/shared';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './stack.ts';

const compose = parse(readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, { environment?: Record<string, string> }>;
};

describe('PAYLOAD_ENCRYPTION_KEYS in docker-compose.yml', () => {
  it('gives the producer and the worker the same key: the shell\'s, else a valid development default', () => {
    const producer = compose.services.producer?.environment?.PAYLOAD_ENCRYPTION_KEYS;
    const worker = compose.services.worker?.environment?.PAYLOAD_ENCRYPTION_KEYS;
    expect(producer).toBeDefined();
    expect(worker).toBe(producer);
    const match = /^\$\{PAYLOAD_ENCRYPTION_KEYS:-(.+)\}$/.exec(producer!);
    expect(match, producer).not.toBeNull();
    expect(parsePayloadKeys(match![1]!).map((key) => key.id)).toEqual([DEV_PAYLOAD_KEY_ID]);
  });
});
