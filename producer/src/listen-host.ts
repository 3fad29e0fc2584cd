/**
 * Where the producer may listen. Without API keys anyone who reaches the port can enqueue,
 * read and cancel jobs, so an unauthenticated producer binds loopback only, whatever HOST
 * says, and start-up warns; with keys it binds HOST.
 */
import { BlockList, isIP } from 'node:net';

/** The address an unauthenticated producer binds instead of a non-loopback HOST. */
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
  /** A warning for start-up, when the producer runs without API keys. */
  warning?: string;
}

/** Decides the bind address from HOST and whether API keys are configured (see the file comment). */
export function chooseListenHost(options: { host: string; apiKeysConfigured: boolean }): ListenHostChoice {
  const { host, apiKeysConfigured } = options;
  if (apiKeysConfigured) return { host };
  if (isLoopbackHost(host)) {
    return {
      host,
      warning: `PRODUCER_API_KEYS is not set: the /v1 API accepts requests without a key from anything that can reach ${host}. Set PRODUCER_API_KEYS to require keys.`,
    };
  }
  return {
    host: LOOPBACK_HOST,
    warning: `PRODUCER_API_KEYS is not set, so the producer listens on ${LOOPBACK_HOST} instead of HOST=${host}: an unauthenticated API must not be reachable from other machines. Set PRODUCER_API_KEYS (e.g. ci=sha256:<hex>:enqueue+read) to listen on ${host}.`,
  };
}
