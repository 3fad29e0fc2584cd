/**
 * Where the queue model lives in Redis. Every key of a queue starts with BullMQ's own
 * `<prefix>:{<queue>}:<queue>:` (written `<prefix>:<queue>:` below), so one queue's keys share
 * its Redis Cluster hash tag (../keys.ts).
 *
 *   <prefix>:<queue>:qm:10s:<slot>   hash, one per 10-second slot (slot = floor(ms / 10,000)),
 *                                    kept LIVE_TTL_SEC: the live windows (10 s, 1 min)
 *   <prefix>:<queue>:qm:1m:<minute>  hash, one per minute (minute = floor(ms / 60,000)), kept
 *                                    for the history retention (7 days by default)
 *   <prefix>:<queue>:qm:workers      hash `host:pid` → `concurrency:heartbeatMs`
 *   <prefix>:~conveyor:worker:<host:pid>  string, one per worker process: JSON of its host, pid,
 *                                    queues (concurrency and jobs in hand on each), start and
 *                                    last heartbeat (workers.ts); expires WORKER_PROCESS_TTL_SEC
 *                                    after its last heartbeat
 *
 * Fields of a slot or minute hash (counters are added to by every worker, HINCRBY):
 *   w<i> / s<i>   wait / service histogram counts by bucket index (histogram.ts)
 *   ws / ss       wait / service sums, ms           wn / sn   their sample counts
 *   ok            attempts completed                fa        attempts failed
 *   dl            jobs dead-lettered
 *   a             `<arrivals>:<completed>:<failed>:<ms>`: the first counter snapshot taken
 *                 in the slot (HSETNX: first writer wins, so many writers never disagree)
 *
 *   <prefix>:<queue>:qm:totals       hash ok / fa / dl since the start (Prometheus counters; ok and
 *                                    dl are also the departures of the arrival count, snapshot.ts)
 *   <prefix>:<queue>:qm:hist         hash of histogram fields since the start (Prometheus histograms)
 */

import { conveyorGlobalKey, queueKeyBase } from '../keys.ts';

export const SLOT_MS = 10_000;
export const MINUTE_MS = 60_000;
/** The live 10-second slots are kept this long: six slots for the minute window, and margin. */
export const LIVE_TTL_SEC = 300;

export function slotOf(ms: number): number {
  return Math.floor(ms / SLOT_MS);
}

export function minuteOf(ms: number): number {
  return Math.floor(ms / MINUTE_MS);
}

export function queueKeyPrefix(prefix: string, queue: string): string {
  return `${queueKeyBase(prefix, queue)}:`;
}

export function slotKey(prefix: string, queue: string, slot: number): string {
  return `${queueKeyPrefix(prefix, queue)}qm:10s:${slot}`;
}

export function minuteKey(prefix: string, queue: string, minute: number): string {
  return `${queueKeyPrefix(prefix, queue)}qm:1m:${minute}`;
}

export function workersKey(prefix: string, queue: string): string {
  return `${queueKeyPrefix(prefix, queue)}qm:workers`;
}

/** The heartbeat record of one worker process, `identity` being its `host:pid` (workers.ts). */
export function workerProcessKey(prefix: string, identity: string): string {
  return conveyorGlobalKey(prefix, 'worker', identity);
}

export function totalsKey(prefix: string, queue: string): string {
  return `${queueKeyPrefix(prefix, queue)}qm:totals`;
}

/**
 * `<prefix>:<queue>:qm:hist`: the wait and service histograms since the start (the `w<i>`,
 * `s<i>`, `wn`, `ws`, `sn`, `ss` fields of a slot hash, never expired), for Prometheus'
 * cumulative histograms (@conveyor/shared latency-totals.ts reads it).
 */
export function histogramTotalsKey(prefix: string, queue: string): string {
  return `${queueKeyPrefix(prefix, queue)}qm:hist`;
}
