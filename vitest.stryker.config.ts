import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

// The suite as Stryker runs it for each mutant: everything but the browser tests, which
// need a listening gateway and Chromium per run and guard no fact alone (see docs/testing.md).
export default mergeConfig(
  base,
  defineConfig({
    test: { exclude: ['test/e2e/**', 'node_modules/**'] },
  }),
);
