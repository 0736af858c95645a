import { Ajv, type ValidateFunction } from 'ajv';
import { ConfigSchema, type Config } from './schema.js';

// Compiling the config schema costs ~150 ms at every start. `npm run build` swaps this
// module for Ajv standalone code generated from the same schema (scripts/build.mjs), so
// the bundle starts without compiling; running from source compiles here, as before.
export const AJV_OPTIONS = { allErrors: true, useDefaults: true, strict: false, coerceTypes: false } as const;

/** Re-exported for the build, which generates standalone code from this same object. */
export { ConfigSchema };

export const checkShape: ValidateFunction<Config> = new Ajv(AJV_OPTIONS).compile<Config>(ConfigSchema);
