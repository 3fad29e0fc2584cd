/**
 * The board's view of payloads: bull-board shows each job's `data`, each dead-letter record
 * (which wraps the failed job's `data`) and each job scheduler's template. All of them pass
 * through `maskSensitive` here, so a sensitive field (sealed or, in a job from before it was
 * marked, plain) reads `••••• (encrypted, key k1)` and never its value or ciphertext.
 */
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { findJobKind, jobKinds, maskSensitive, type AnyJobKind } from '@conveyor/shared';
import type { Queue } from 'bullmq';

type AdapterOptions = ConstructorParameters<typeof BullMQAdapter>[1];

/** The catalog kinds that run on `queueName`. */
function kindsOn(queueName: string): AnyJobKind[] {
  return Object.values<AnyJobKind>(jobKinds).filter((kind) => kind.queue === queueName);
}

/** A job's payload on source queue `queueName`, masked by the sensitive fields of the queue's kinds. */
export function maskPayloadOf(queueName: string): (data: unknown) => unknown {
  const kinds = kindsOn(queueName);
  return (data) => maskSensitive(kinds, data);
}

/** A dead-letter record with its payload masked by its kind (and any sealed value elsewhere in it). */
export function maskDeadLetterRecord(record: unknown): unknown {
  if (typeof record !== 'object' || record === null || !('data' in record)) return maskSensitive(undefined, record);
  const { name } = record as { name?: unknown };
  const kind = typeof name === 'string' ? findJobKind(name) : undefined;
  return maskSensitive(undefined, { ...record, data: maskSensitive(kind, (record as { data: unknown }).data) });
}

/** bull-board's BullMQ adapter with `data` and job scheduler templates masked by `mask`. */
export class MaskingBullMQAdapter extends BullMQAdapter {
  constructor(queue: Queue, options: AdapterOptions, mask: (data: unknown) => unknown) {
    super(queue, options);
    this.setFormatter('data', mask);
  }

  override async getJobSchedulers(): ReturnType<BullMQAdapter['getJobSchedulers']> {
    const schedulers = await super.getJobSchedulers();
    return schedulers.map((scheduler) =>
      scheduler.template
        ? { ...scheduler, template: { ...scheduler.template, data: maskSensitive(findJobKind(scheduler.name), scheduler.template.data) } }
        : scheduler,
    );
  }
}
