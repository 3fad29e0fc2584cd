/**
 * The dashboard's composition root: config, logger, one fail-fast Redis connection shared by
 * the catalog queues and the readiness probe, the app, listen. It starts and serves (503s and a
 * "Redis unreachable" banner) while Redis is down, and picks up by itself when Redis returns.
 * SIGTERM/SIGINT close the overview feed (ending its event streams), the server, the queues and
 * the connection, in that order.
 * Without DASHBOARD_USERS it binds loopback only and warns (listen-host.ts).
 */
import { checkRedisSettingsWhenReady, closeRedis, createAppRuntime, createRedisClient, describeRedisTopology, openCatalogQueues } from '@conveyor/shared';
import { createAlertEvaluator } from './alerts/alert-evaluator.ts';
import { createApp } from './app.ts';
import { loadDashboardConfig } from './config.ts';
import { startHttpServer } from './http-server.ts';
import { chooseListenHost } from './listen-host.ts';
import { createOverviewFeed } from './overview-feed.ts';

const { config, logger, closer, refuseToStart, failStart } = createAppRuntime({
  name: 'dashboard',
  loadConfig: () => loadDashboardConfig(),
  logLevel: (parsed) => parsed.LOG_LEVEL,
  nameConfigErrors: true,
});

async function main(): Promise<void> {
  const redis = createRedisClient(
    { topology: config.redisTopology, mode: 'fail-fast', connectionName: 'conveyor:dashboard' },
    logger,
  );
  logger.info({ redis: describeRedisTopology(config.redisTopology) }, 'Redis topology');
  closer.add('redis', () => closeRedis(redis, config.REDIS_COMMAND_TIMEOUT_MS));
  // The Redis settings gate, when Redis is first ready: a Redis that may evict jobs makes the
  // dashboard say why on stderr and exit 2, unless REDIS_ALLOW_EVICTION=true.
  void checkRedisSettingsWhenReady(redis, logger, { allowEviction: config.REDIS_ALLOW_EVICTION, onRefused: refuseToStart });

  const queues = openCatalogQueues({ connection: redis, prefix: config.CONVEYOR_PREFIX, logger, deadLetters: true });
  closer.add('queues', () => queues.close());

  // Alerts (alerts/alert-evaluator.ts): only with a rules file; every process evaluates, the lease holder sends.
  const rules = config.DASHBOARD_ALERT_RULES_FILE;
  const alerts = rules
    ? createAlertEvaluator({
        redis,
        prefix: config.CONVEYOR_PREFIX,
        queues,
        rules,
        logger,
        historyTtlSec: config.QUEUE_MODEL_HISTORY_DAYS * 86_400,
        intervalMs: config.DASHBOARD_ALERT_INTERVAL_MS,
        ...(config.DASHBOARD_PUBLIC_URL ? { dashboardUrl: config.DASHBOARD_PUBLIC_URL } : {}),
      })
    : undefined;
  if (alerts) {
    alerts.start();
    closer.add('alert evaluator', () => alerts.close());
  }

  // One poll for every open overview; it runs only while a stream is open.
  const overviewFeed = createOverviewFeed({
    queues,
    redis,
    prefix: config.CONVEYOR_PREFIX,
    historyTtlSec: config.QUEUE_MODEL_HISTORY_DAYS * 86_400,
    refreshMs: config.DASHBOARD_REFRESH_MS,
    commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
    logger,
    ...(alerts ? { alerts } : {}),
  });
  const app = createApp({
    queues,
    redis,
    prefix: config.CONVEYOR_PREFIX,
    historyTtlSec: config.QUEUE_MODEL_HISTORY_DAYS * 86_400,
    logger,
    ...(alerts ? { alerts } : {}),
    overviewFeed,
    refreshMs: config.DASHBOARD_REFRESH_MS,
    commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
    streamMaxAgeMs: config.DASHBOARD_STREAM_MAX_AGE_MS,
    autoscale: { targetUtilization: config.DASHBOARD_AUTOSCALE_TARGET_UTILIZATION, drainSec: config.DASHBOARD_AUTOSCALE_DRAIN_SEC },
    access: {
      users: config.DASHBOARD_USERS,
      ...(config.DASHBOARD_SESSION_SECRET ? { sessionSecret: config.DASHBOARD_SESSION_SECRET } : {}),
      sessionTtlSec: config.DASHBOARD_SESSION_TTL_SEC,
      cookieSecure: config.DASHBOARD_COOKIE_SECURE === 'auto' ? 'auto' : config.DASHBOARD_COOKIE_SECURE === 'true',
    },
  });
  const usersConfigured = config.DASHBOARD_USERS.length > 0;
  if (usersConfigured && !config.DASHBOARD_SESSION_SECRET) {
    logger.warn('DASHBOARD_SESSION_SECRET is not set: sessions are signed with a random key, so they end when this process restarts and other dashboard processes do not accept them');
  }
  const listen = chooseListenHost({ host: config.HOST, usersConfigured });
  if (listen.warning) logger.warn(listen.warning);
  const http = await startHttpServer(app, { host: listen.host, port: config.PORT });
  closer.add('http server', () => http.close());
  // Closed before the server (the closer runs last-in first): it ends the open event streams, which the server would wait for.
  closer.add('overview feed', () => overviewFeed.close());
  logger.info({ url: http.url, prefix: config.CONVEYOR_PREFIX, users: config.DASHBOARD_USERS.length }, `dashboard listening on ${http.url}`);
}

await main().catch(failStart);
