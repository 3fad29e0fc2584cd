// Brings the `inject('redisUrl')` type (ProvidedContext) into this package's type-check.
import type {} from '@conveyor/shared/testing/global-setup';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['@conveyor/shared/testing/global-setup'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
  },
});
