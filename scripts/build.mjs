// Bundles the CLI into dist/ with esbuild. One bundle (plus a chunk per lazily loaded
// identity source and `register`) starts in about half the time of tsc's per-file output:
// module resolution and loading dominated cold start. Type checking stays with `tsc --noEmit`.
import { build } from 'esbuild';
import { rm } from 'node:fs/promises';

import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// An optional argument builds elsewhere (the cold-start benchmark stages its own copy).
const outdir = process.argv[2] ?? `${root}dist`;
await rm(outdir, { recursive: true, force: true });
await build({
  entryPoints: [`${root}src/cli.ts`],
  outdir,
  entryNames: '[name]',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: true,
  minifySyntax: true,
  minifyWhitespace: true,
  // CommonJS dependencies inside an ESM bundle still call require().
  banner: { js: "import { createRequire as __paiSsoRequire } from 'node:module'; const require = __paiSsoRequire(import.meta.url);" },
  logLevel: 'warning',
});
