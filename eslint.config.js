// ESLint flat config for the whole monorepo. Not type-checked on purpose (speed);
// `npm run typecheck` is the type gate.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';
import apiBoundaries from './api/lint/feature-boundaries.mjs';

// Node.js globals for plain JS/MJS scripts (TypeScript files get them from @types/node).
const nodeGlobals = Object.fromEntries(
  [
    'process',
    'console',
    'Buffer',
    'URL',
    'URLSearchParams',
    'AbortController',
    'AbortSignal',
    'TextEncoder',
    'TextDecoder',
    'fetch',
    'structuredClone',
    'queueMicrotask',
    'setTimeout',
    'clearTimeout',
    'setInterval',
    'clearInterval',
    'setImmediate',
    'clearImmediate',
  ].map((name) => [name, 'readonly']),
);

export default defineConfig(
  {
    ignores: ['**/dist/**', '**/node_modules/**', '**/.next/**', 'var/**', '**/*.tmp.mjs'],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 'latest',
      sourceType: 'module',
      globals: nodeGlobals,
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  {
    // Tests read arbitrary JSON answers; typing every body would add noise, not safety.
    files: ['**/test/**/*.ts', '**/*.spec.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Folder layering of the API (api/lint/layers.mjs); `npm run lint:boundaries -w api` counts the same.
    files: ['api/src/**/*.ts'],
    plugins: { 'api-boundaries': apiBoundaries },
    rules: { 'api-boundaries/feature-boundaries': 'error' },
  },
);
