/**
 * DASHBOARD_USERS: who may sign in, and with which role. Entries are separated by commas, each
 * `name:role:hash`, the hash from `npm run hash-password -w @conveyor/dashboard`:
 *
 *   DASHBOARD_USERS='ada:operator:scrypt$16384$8$1$…$…, bob:viewer:scrypt$16384$8$1$…$…'
 *
 * Roles: `viewer` reads everything (bull-board read-only); `operator` also changes queues and
 * jobs and reads the audit log. Empty: no users, the dashboard's no-users mode (README
 * "Dashboard access").
 */
import { parsePasswordHash, PasswordHashFormatError, type PasswordHash } from './password-hash.ts';

export const roles = ['viewer', 'operator'] as const;
export type Role = (typeof roles)[number];

export interface DashboardUser {
  name: string;
  role: Role;
  hash: PasswordHash;
}

/** One message per bad entry, naming its position and user name, never its hash. */
export class DashboardUsersError extends Error {
  override readonly name = 'DashboardUsersError';
  constructor(readonly problems: readonly string[]) {
    super(problems.join('; '));
  }
}

const USER_NAME = /^[A-Za-z0-9_.@-]{1,64}$/;

export function parseDashboardUsers(text: string): DashboardUser[] {
  const problems: string[] = [];
  const users: DashboardUser[] = [];
  const entries = text.split(',').map((entry) => entry.trim()).filter((entry) => entry.length > 0);
  entries.forEach((entry, index) => {
    const at = `entry ${index + 1}`;
    const first = entry.indexOf(':');
    const second = entry.indexOf(':', first + 1);
    if (first < 0 || second < 0) {
      problems.push(`${at}: expected name:role:hash`);
      return;
    }
    const name = entry.slice(0, first);
    const role = entry.slice(first + 1, second);
    if (!USER_NAME.test(name)) {
      problems.push(`${at}: the user name must be 1-64 letters, digits, _ . @ -`);
      return;
    }
    const where = `${at} (${name})`;
    if (!(roles as readonly string[]).includes(role)) problems.push(`${where}: the role must be viewer or operator`);
    if (users.some((user) => user.name === name)) problems.push(`${where}: the user name is given twice`);
    try {
      const hash = parsePasswordHash(entry.slice(second + 1));
      users.push({ name, role: role as Role, hash });
    } catch (error) {
      if (!(error instanceof PasswordHashFormatError)) throw error;
      problems.push(`${where}: the password hash is malformed: ${error.message}`);
    }
  });
  if (problems.length > 0) throw new DashboardUsersError(problems);
  return users;
}
