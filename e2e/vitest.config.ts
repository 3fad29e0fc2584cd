// Brings the `inject('redisUrl')` type (ProvidedContext) into this package's type-check.
import type {} from '@conveyor/shared/testing/global-setup';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['@conveyor/shared/testing/global-setup'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    // One file at a time: the chaos cases time answers and retries, and every file here
    // starts several Node processes on a 2-core machine.
    fileParallelism: false,
  },
});
