import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

// The suite as Stryker runs it: everything but the browser tests, which need Chromium per
// run and guard no fact alone. PAI_SSO_MUTATION_TESTS (comma-separated globs) narrows it
// for a subset run on a small machine; docs/testing.md records which tests a score counted.
const only = process.env['PAI_SSO_MUTATION_TESTS']?.split(',').filter(Boolean);

export default mergeConfig(
  base,
  defineConfig({
    test: { exclude: ['test/e2e/**', 'node_modules/**'], ...(only?.length ? { include: only } : {}) },
  }),
);
