/** The dead-letter queue: records of jobs that failed for good, and what operators do with them. */
export * from './audit.ts';
export { deadLetter, type DeadLetterOutcome, type DeadLetterResult } from './dead-letter.ts';
export { recordMatcher, type DeadLetterFilter } from './filter.ts';
export * from './names.ts';
export { openQueueHandles, type QueueHandles } from './queue-handles.ts';
export * from './record.ts';
export { DeadLetterEditError, type RedriveEdit, type RedriveOptions, type RedriveProgress, type RedriveResult, type RedriveSelection } from './redrive.ts';
export * from './settings.ts';
export * from './store.ts';
export { defaultRetention, sweepFailedJobs, trimDeadLetters, type RetentionLimits, type SweepOptions, type SweepResult } from './sweep.ts';
