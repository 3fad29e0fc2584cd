/**
 * Where an app without authentication may listen. The producer without API keys and the
 * dashboard without users let anyone who reaches the port act, so they bind loopback only,
 * whatever HOST says, and warn at start; with authentication configured they bind HOST.
 */
import { BlockList, isIP } from 'node:net';

/** The address an unauthenticated app binds instead of a non-loopback HOST. */
export const LOOPBACK_HOST = '127.0.0.1';

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** True for `localhost`, 127.0.0.0/8, `::1` (any spelling) and IPv4-mapped 127.x addresses. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (bare === 'localhost' || bare.endsWith('.localhost')) return true;
  const family = isIP(bare);
  return family !== 0 && loopback.check(bare, family === 4 ? 'ipv4' : 'ipv6');
}

export interface ListenHostChoice {
  /** The address to bind. */
  host: string;
  /** A warning for start-up, when the app runs without authentication. */
  warning?: string;
}

/** Decides the bind address (see the file comment); the app words the two warnings. */
export function chooseListenHostFor(options: {
  host: string;
  authenticated: boolean;
  /** Unauthenticated on a loopback HOST. */
  openWarning: (host: string) => string;
  /** Unauthenticated with a non-loopback HOST: bound to LOOPBACK_HOST instead. */
  rebindWarning: (host: string) => string;
}): ListenHostChoice {
  const { host } = options;
  if (options.authenticated) return { host };
  if (isLoopbackHost(host)) return { host, warning: options.openWarning(host) };
  return { host: LOOPBACK_HOST, warning: options.rebindWarning(host) };
}
