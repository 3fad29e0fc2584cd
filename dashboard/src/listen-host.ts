/**
 * Where the dashboard may listen. With no users configured everyone who reaches it is an
 * operator, so it binds loopback only, whatever HOST says, and start-up warns; with users it
 * binds HOST. (The producer decides the same way for its API keys.)
 */
import { BlockList, isIP } from 'node:net';

/** The address a dashboard without users binds instead of a non-loopback HOST. */
export const LOOPBACK_HOST = '127.0.0.1';

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** True for `localhost`, 127.0.0.0/8 and `::1` (any spelling). */
export function isLoopbackHost(host: string): boolean {
  const bare = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (bare === 'localhost' || bare.endsWith('.localhost')) return true;
  const family = isIP(bare);
  return family !== 0 && loopback.check(bare, family === 4 ? 'ipv4' : 'ipv6');
}

export interface ListenHostChoice {
  /** The address to bind. */
  host: string;
  /** A warning for start-up, in no-users mode. */
  warning?: string;
}

/** Decides the bind address from HOST and whether users are configured (see the file comment). */
export function chooseListenHost(options: { host: string; usersConfigured: boolean }): ListenHostChoice {
  const { host, usersConfigured } = options;
  if (usersConfigured) return { host };
  if (isLoopbackHost(host)) {
    return { host, warning: `DASHBOARD_USERS is not set: no sign-in, anyone who can reach ${host} acts as operator "local". Set DASHBOARD_USERS to require sign-in.` };
  }
  return {
    host: LOOPBACK_HOST,
    warning: `DASHBOARD_USERS is not set, so the dashboard listens on ${LOOPBACK_HOST} instead of HOST=${host}: without users everyone is an operator, which must not be reachable from other machines. Set DASHBOARD_USERS (npm run hash-password -w @conveyor/dashboard) to listen on ${host}.`,
  };
}
