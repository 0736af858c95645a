import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The Alibaba SDKs are CJS with a `default` export; without this vitest hands us the
    // class where Node hands us module.exports.
    deps: { interopDefault: false },
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
