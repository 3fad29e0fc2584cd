import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parsePasswordHash, verifyPassword } from './access/password-hash.ts';

const cwd = fileURLToPath(new URL('..', import.meta.url));

function run(input: string) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'scripts/hash-password.ts'], { cwd, input, encoding: 'utf8', timeout: 30_000 });
}

describe('npm run hash-password', () => {
  it('prints a hash of the password read from stdin, without its trailing newline', async () => {
    const result = run('conveyor-dev\n');
    expect(result.status).toBe(0);
    const hash = result.stdout.trim();
    expect(hash).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(await verifyPassword('conveyor-dev', parsePasswordHash(hash))).toBe(true);
  });

  it('refuses a password shorter than 8 characters', () => {
    const result = run('short');
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
  });
});
