/** CPU time of the bench's redis-server, from INFO cpu: the Redis side of "CPU per job". */
import type { Redis } from 'ioredis';

export interface RedisCpuTimes {
  /** CPU seconds so far, user + sys, of all its threads. */
  allSec: number;
  /**
   * CPU seconds so far, user + sys, of its main thread alone: the one that runs every command,
   * so the one that bounds a single Redis whatever its background threads do.
   */
  mainThreadSec: number;
}

/** redis-server's CPU times so far, from one INFO cpu. */
export async function redisCpuTimes(redis: Redis): Promise<RedisCpuTimes> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return {
    allSec: field('used_cpu_user') + field('used_cpu_sys'),
    mainThreadSec: field('used_cpu_user_main_thread') + field('used_cpu_sys_main_thread'),
  };
}

/** redis-server's CPU seconds so far (user + sys, all its threads). */
export async function redisCpuSec(redis: Redis): Promise<number> {
  return (await redisCpuTimes(redis)).allSec;
}
