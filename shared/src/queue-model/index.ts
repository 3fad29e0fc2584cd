/** The queue model (L, λ, θ, W, S, ρ, drain ETA): recorded by workers, read by the dashboard and CLI. */
export * from './histogram.ts';
export * from './keys.ts';
export * from './reader.ts';
export * from './recorder.ts';
export * from './snapshot.ts';
export * from './history.ts';
export * from './counts.ts';
export * from './workers.ts';
export * from './recommended-workers.ts';
