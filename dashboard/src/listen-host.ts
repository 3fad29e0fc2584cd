/** Where the dashboard may listen: loopback only without users (shared listen-host.ts). */
import { chooseListenHostFor, type ListenHostChoice } from '@conveyor/shared';

export { isLoopbackHost, LOOPBACK_HOST, type ListenHostChoice } from '@conveyor/shared';

/** Decides the bind address from HOST and whether users are configured. */
export function chooseListenHost(options: { host: string; usersConfigured: boolean }): ListenHostChoice {
  return chooseListenHostFor({
    host: options.host,
    authenticated: options.usersConfigured,
    openWarning: (host) => `DASHBOARD_USERS is not set: no sign-in, anyone who can reach ${host} acts as operator "local". Set DASHBOARD_USERS to require sign-in.`,
    rebindWarning: (host) =>
      `DASHBOARD_USERS is not set, so the dashboard listens on 127.0.0.1 instead of HOST=${host}: without users everyone is an operator, which must not be reachable from other machines. Set DASHBOARD_USERS (npm run hash-password -w @conveyor/dashboard) to listen on ${host}.`,
  });
}
