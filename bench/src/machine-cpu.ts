/**
 * CPU time the whole machine spent busy, every process together, from /proc/stat: beside the
 * CPU of redis-server and the worker processes it shows how much of a shared machine other
 * work took during a measurement. Linux only; elsewhere it reads as unknown.
 */
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/stat (USER_HZ, 100 on every Linux the bench runs on). */
const TICKS_PER_SEC = 100;

/**
 * CPU seconds the machine has spent busy since boot, over all cores: user, nice, system, irq
 * and softirq time (not idle, iowait, or steal, the time a hypervisor gave to other guests);
 * undefined where there is no /proc/stat.
 */
export function machineBusySec(): number | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/stat', 'utf8');
  } catch {
    return undefined;
  }
  const fields = /^cpu\s+(.*)$/m.exec(text)?.[1]?.trim().split(/\s+/).map(Number);
  if (!fields || fields.length < 7) return undefined;
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0] = fields;
  return (user + nice + system + irq + softirq) / TICKS_PER_SEC;
}
