/** Where the producer may listen: loopback only without API keys (shared listen-host.ts). */
import { chooseListenHostFor, type ListenHostChoice } from '@conveyor/shared';

export { isLoopbackHost, LOOPBACK_HOST, type ListenHostChoice } from '@conveyor/shared';

/** Decides the bind address from HOST and whether API keys are configured. */
export function chooseListenHost(options: { host: string; apiKeysConfigured: boolean }): ListenHostChoice {
  return chooseListenHostFor({
    host: options.host,
    authenticated: options.apiKeysConfigured,
    openWarning: (host) =>
      `PRODUCER_API_KEYS is not set: the /v1 API accepts requests without a key from anything that can reach ${host}. Set PRODUCER_API_KEYS to require keys.`,
    rebindWarning: (host) =>
      `PRODUCER_API_KEYS is not set, so the producer listens on 127.0.0.1 instead of HOST=${host}: an unauthenticated API must not be reachable from other machines. Set PRODUCER_API_KEYS (e.g. ci=sha256:<hex>:enqueue+read) to listen on ${host}.`,
  });
}
