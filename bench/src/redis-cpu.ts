/** CPU time of the bench's redis-server, from INFO cpu: the Redis side of "CPU per job". */
import type { Redis } from 'ioredis';

/** redis-server's CPU seconds so far (user + sys, all its threads). */
export async function redisCpuSec(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return field('used_cpu_user') + field('used_cpu_sys');
}
