import js from '@eslint/js';
import path from 'node:path';
import tseslint from 'typescript-eslint';

const root = path.dirname(new URL(import.meta.url).pathname);

/**
 * Workspace boundaries (as Backstage's no-relative-monorepo-imports): code in services/<a> or
 * packages/<a> imports nothing outside its own folder by relative path (another service's code
 * is never imported; a package is imported by its name, `@cinema/<name>`, never `.../src/...`).
 * Cross-service tests live in tests/, which may import services but packages only by name.
 */
const boundaries = {
  rules: {
    'no-relative-monorepo-imports': {
      meta: {
        type: 'problem',
        messages: {
          package: "import '@cinema/{{name}}' instead of a path into packages/{{name}}",
          service:
            "'{{spec}}' reaches into {{target}}: share code through a package, or test across services in tests/",
          deep: "import '@cinema/{{name}}' (its index), not a file inside it",
        },
      },
      create(context) {
        const file = path.relative(root, context.filename);
        const [kind, name] = file.split(path.sep);
        const own = kind === 'services' || kind === 'packages' ? `${kind}/${name}/` : undefined;
        const check = (node) => {
          const spec = node?.value;
          if (typeof spec !== 'string') return;
          const deep = /^@cinema\/([a-z-]+)\/(src|dist)(\/|$)/.exec(spec);
          if (deep) return context.report({ node, messageId: 'deep', data: { name: deep[1] } });
          if (!spec.startsWith('.')) return;
          const target = path.relative(root, path.resolve(path.dirname(context.filename), spec));
          const [tKind, tName] = target.split(path.sep);
          if (tKind !== 'services' && tKind !== 'packages') return;
          if (own && `${target}/`.startsWith(own)) return;
          if (tKind === 'packages')
            return context.report({ node, messageId: 'package', data: { name: tName } });
          if (own)
            return context.report({
              node,
              messageId: 'service',
              data: { spec, target: `services/${tName}` },
            });
        };
        return {
          ImportDeclaration: (node) => check(node.source),
          ExportNamedDeclaration: (node) => check(node.source),
          ExportAllDeclaration: (node) => check(node.source),
          ImportExpression: (node) => check(node.source),
        };
      },
    },
  },
};

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '**/generated/**',
      '.stack/**',
      '.cache/**',
      'coverage/**',
      '**/*.d.ts',
      'packages/*/src/**/*.js',
      'tsconfig.build.json',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.{js,mjs,cjs}'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        require: 'readonly',
        module: 'writable',
        __dirname: 'readonly',
        URL: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        fetch: 'readonly',
        structuredClone: 'readonly',
      },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['**/*.{ts,js,mjs}'],
    plugins: { cinema: boundaries },
    rules: { 'cinema/no-relative-monorepo-imports': 'error' },
  },
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-console': 'off',
    },
  },
  {
    // Browser scripts served by services (e.g. the video player).
    files: ['services/*/public/**/*.js'],
    languageOptions: {
      globals: {
        window: 'readonly',
        document: 'readonly',
        navigator: 'readonly',
        localStorage: 'readonly',
        crypto: 'readonly',
        fetch: 'readonly',
        setTimeout: 'readonly',
        setInterval: 'readonly',
        clearTimeout: 'readonly',
        console: 'readonly',
        URLSearchParams: 'readonly',
        Blob: 'readonly',
        location: 'readonly',
        atob: 'readonly',
      },
    },
  },
);
