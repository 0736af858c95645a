#!/usr/bin/env node
// The only entry point: loads the CLI module and runs its `main()` with this process's
// streams and environment (importing the module itself does nothing). Uses the compiled
// bundle when `npm run build` has made one (fast cold start, the Docker image); otherwise
// runs the TypeScript sources through tsx, so a fresh clone needs no build.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/cli.js', import.meta.url);
let cli;
if (existsSync(compiled)) {
  cli = await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(new URL('../src/cli.ts', import.meta.url).href);
}

const io = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };
cli.main(process.argv.slice(2), io).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`pai-sso: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
