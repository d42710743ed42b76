import { defineConfig } from 'vitest/config';

// Integration tests build network namespaces and spawn processes; two workers match the 2-core target
// machine and keep kernel-side timing sane.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
