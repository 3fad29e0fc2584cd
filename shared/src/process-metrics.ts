/**
 * Each app's own process metrics, for its `GET /metrics` in the Prometheus text format:
 * prom-client's default set — CPU seconds, resident memory, heap by space, event-loop lag
 * (mean and percentiles), open handles and file descriptors, GC pauses, Node's version —
 * under their conventional names and with no prefix (`process_cpu_seconds_total`,
 * `process_resident_memory_bytes`, `nodejs_eventloop_lag_seconds`, …), so that stock Node.js
 * dashboards and alerts work unchanged. Which app and which instance a series comes from is
 * told by Prometheus' own `job` and `instance` labels.
 *
 * They describe the process, so there is one registry per process, created on first use (not
 * at import): apps that share a process, as in tests, share it as they share the process.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';

/** The Content-Type of the Prometheus text exposition format, 0.0.4. */
export const PROMETHEUS_CONTENT_TYPE: string = Registry.PROMETHEUS_CONTENT_TYPE;

let registry: Registry | undefined;

function processRegistry(): Registry {
  if (!registry) {
    registry = new Registry();
    collectDefaultMetrics({ register: registry });
  }
  return registry;
}

/** This process's metrics in the Prometheus text format (a newline at the end). */
export function renderProcessMetrics(): Promise<string> {
  return processRegistry().metrics();
}
