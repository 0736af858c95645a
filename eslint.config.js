// Lint rules for pai-sso: typescript-eslint's strict type-checked set, no import cycles,
// and the layer rules of docs/architecture.md (who may import whom), enforced here so the
// picture in the docs cannot drift from the code.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

const layer = (target, from, message) => ({ target, from, message });

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
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            layer('./src/alibaba', ['./src/!(alibaba)/**', './src/*.ts'], 'Alibaba facts sit at the bottom: they import nothing of ours.'),
            layer('./src/errors.ts', ['./src/**'], 'errors.ts sits at the bottom.'),
            layer('./src/state', ['./src/!(state|errors.ts)/**', './src/!(errors).ts'], 'The state store knows nothing of the gateway.'),
            layer(
              './src/config',
              [
                './src/http',
                './src/identity',
                './src/saml',
                './src/mapping',
                './src/ram',
                './src/cli',
                './src/cli.ts',
                './src/server.ts',
                './src/state',
                './src/keys',
              ],
              'Config is read by everyone and reads no one.',
            ),
            layer(
              './src/saml',
              ['./src/identity', './src/mapping', './src/http', './src/ram', './src/cli', './src/cli.ts', './src/server.ts', './src/state'],
              'The issuing core takes plain inputs.',
            ),
            layer(
              './src/mapping',
              ['./src/http', './src/saml', './src/ram', './src/cli', './src/cli.ts', './src/server.ts', './src/state', './src/keys'],
              'Mapping is pure.',
            ),
            layer(
              './src/identity',
              ['./src/http', './src/saml', './src/ram', './src/cli', './src/cli.ts', './src/server.ts', './src/mapping'],
              'Identity sources hand a User to the gateway; they do not reach into it.',
            ),
            layer(
              './src/ram',
              ['./src/http', './src/identity', './src/cli', './src/cli.ts', './src/server.ts', './src/state', './src/mapping'],
              'register works from config and keys only.',
            ),
            layer(
              './src/sts',
              ['./src/!(errors.ts|alibaba.ts)/**', './src/!(errors|alibaba).ts'],
              'The STS client takes plain inputs: it imports only errors and Alibaba facts.',
            ),
            layer(
              './src/http',
              ['./src/cli', './src/cli.ts', './src/ram'],
              'The HTTP layer never reaches the command line or the cloud API.',
            ),
            layer(
              './src/keys',
              [
                './src/http',
                './src/identity',
                './src/saml',
                './src/mapping',
                './src/ram',
                './src/cli',
                './src/cli.ts',
                './src/server.ts',
                './src/state',
              ],
              'Keys are loaded from disk and handed down.',
            ),
          ],
        },
      ],
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
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
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
