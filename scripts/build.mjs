// Bundles the CLI into dist/ with esbuild. One bundle (plus a chunk per lazily loaded
// identity source and `register`) starts in about half the time of tsc's per-file output:
// module resolution and loading dominated cold start. The config schema's Ajv validator
// is generated ahead of time (standalone code) instead of compiled at every start.
// Type checking stays with `tsc --noEmit`.
import { build } from 'esbuild';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// An optional argument builds elsewhere (the cold-start benchmark stages its own copy).
const outdir = process.argv[2] ?? `${root}dist`;
// Inside node_modules so the generated modules resolve ajv's runtime helpers.
await mkdir(join(root, 'node_modules', '.cache'), { recursive: true });
const work = await mkdtemp(join(root, 'node_modules', '.cache', 'pai-sso-build-'));

try {
  // 1. The schema module as plain JS, to hand the very same schema object to Ajv.
  const schemaJs = join(work, 'schema.mjs');
  await build({
    entryPoints: [`${root}src/config/shape-validator.ts`],
    outfile: schemaJs,
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    logLevel: 'warning',
  });
  const { AJV_OPTIONS, ConfigSchema } = await import(pathToFileURL(schemaJs).href);
  const { Ajv } = await import('ajv');
  const standaloneCode = (await import('ajv/dist/standalone/index.js')).default.default;
  const ajv = new Ajv({ ...AJV_OPTIONS, code: { source: true, esm: true } });
  ajv.addSchema(ConfigSchema, 'config');
  const generated = join(work, 'shape-validator.generated.mjs');
  await writeFile(generated, standaloneCode(ajv, { checkShape: 'config' }));

  // 2. The bundle, with the generated validator in place of the runtime-compiled one.
  await rm(outdir, { recursive: true, force: true });
  await build({
    // dist/cli.js keeps the module's exports; bin/pai-sso.js imports it and calls main().
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
    plugins: [
      {
        name: 'precompiled-config-validator',
        setup(b) {
          b.onResolve({ filter: /\/shape-validator\.js$/ }, () => ({ path: generated }));
        },
      },
    ],
    logLevel: 'warning',
  });
} finally {
  await rm(work, { recursive: true, force: true });
}
