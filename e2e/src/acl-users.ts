/**
 * The least-privilege Redis users of deploy/redis/users.acl with fresh passwords, for the
 * tests that run the stack as them, and Redis' ACL LOG read back as lines.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { repoRoot } from './stack.ts';

export const aclApps = ['producer', 'worker', 'dashboard'] as const;
export type AclApp = (typeof aclApps)[number];

export interface AclUsers {
  /** deploy/redis/users.acl as shipped, with its password-hash placeholders (the README shows its lines). */
  template: string;
  /** The file written: the template with each app's password hash, the default user off, and `admin`. */
  path: string;
  passwords: Record<AclApp, string>;
  /** A user with every right, for the test itself and what Redis needs (replicas, Sentinels, redis-cli). */
  admin: { username: string; password: string };
  /** Each app's REDIS_USERNAME and REDIS_PASSWORD, as startStack's per-app environment. */
  appEnv: Record<AclApp, Record<string, string>>;
}

/** Writes `users.acl` into `dir` with fresh passwords (see AclUsers). */
export function writeAclUsers(dir: string): AclUsers {
  const template = readFileSync(join(repoRoot, 'deploy', 'redis', 'users.acl'), 'utf8');
  const passwords = Object.fromEntries(aclApps.map((app) => [app, randomBytes(12).toString('hex')])) as Record<AclApp, string>;
  const admin = { username: 'test-admin', password: randomBytes(12).toString('hex') };
  const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
  const acl = template
    .replace('PRODUCER_PASSWORD_SHA256', sha256(passwords.producer))
    .replace('WORKER_PASSWORD_SHA256', sha256(passwords.worker))
    .replace('DASHBOARD_PASSWORD_SHA256', sha256(passwords.dashboard));
  const path = join(dir, 'users.acl');
  writeFileSync(path, `${acl.trimEnd()}\nuser default off\nuser ${admin.username} on >${admin.password} ~* &* +@all\n`);
  const appEnv = {} as Record<AclApp, Record<string, string>>;
  for (const app of aclApps) appEnv[app] = { REDIS_USERNAME: `conveyor-${app}`, REDIS_PASSWORD: passwords[app] };
  return { template, path, passwords, admin, appEnv };
}

/** The node's ACL LOG, one `user: reason object` line per refusal. */
export async function aclRefusals(client: Redis): Promise<string[]> {
  const log = (await client.call('ACL', 'LOG')) as string[][];
  return log.map((entry) => {
    const fields = Object.fromEntries(entry.flatMap((value, i) => (i % 2 === 0 ? [[String(value), String(entry[i + 1])]] : [])));
    return `${fields.username}: ${fields.reason} ${fields.object}`;
  });
}
