// Lint rules for pai-sso: typescript-eslint's strict type-checked set, no import cycles,
// and the layer rules of docs/architecture.md (who may import whom), enforced here so the
// picture in the docs cannot drift from the code.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

import { ENTRIES, LAYERS } from './eslint.layers.js';

function layerZones() {
  const path = (e) => `./src/${e}`;
  return Object.entries(LAYERS).flatMap(([layer, allowed]) => {
    const partial = allowed.filter((a) => a.includes('/'));
    const whole = new Set(allowed.filter((a) => !a.includes('/')));
    const forbidden = ENTRIES.filter((e) => e !== layer && !whole.has(e));
    if (forbidden.length === 0) return [];
    const except = partial.filter((p) => forbidden.includes(p.split('/')[0])).map((p) => `./${p.split('/').slice(1).join('/')}`);
    return [
      {
        target: path(layer),
        from: forbidden.map(path),
        ...(except.length ? { except } : {}),
        message: `${layer} may import only: ${allowed.join(', ') || 'nothing of ours'} (docs/architecture.md).`,
      },
    ];
  });
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'certs/**'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': ['error', { zones: layerZones() }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // `(x) => doSomething(x)` returning void is how callbacks read best; the rule stays on for statements.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // Fastify's plugin, hook and handler contracts are async functions; many of ours need no await.
      '@typescript-eslint/require-await': 'off',
      // We refuse control characters in usernames, headers and XML on purpose.
      'no-control-regex': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly' },
    },
  },
  {
    // Tests and benchmarks poke at shapes on purpose (forged inputs, partial fakes).
    files: ['test/**', 'bench/**'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-floating-promises': 'off',
      '@typescript-eslint/require-await': 'off',
    },
  },
);
