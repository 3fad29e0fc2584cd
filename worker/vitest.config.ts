import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['@conveyor/shared/testing/global-setup'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
  },
});
