#!/usr/bin/env node
// Runs the compiled CLI when `npm run build` has made one (fast cold start, the Docker
// image); otherwise runs the TypeScript sources through tsx, so a fresh clone needs no build.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/cli.js', import.meta.url);
if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/cli.ts', import.meta.url).href);
}
