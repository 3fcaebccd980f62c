/**
 * Two projects: `unit` (no I/O, *.test.ts) and `integration` (real servers from the local
 * stack, *.int.test.ts). The integration project starts the stack once in globalSetup.
 */
const path = require('node:path');

const moduleNameMapper = {
  '^@cinema/([a-z-]+)$': '<rootDir>/packages/$1/src',
};
const transform = {
  '^.+\\.ts$': ['ts-jest', { tsconfig: path.join(__dirname, 'tsconfig.jest.json') }],
};
const common = {
  rootDir: __dirname,
  testEnvironment: 'node',
  // TypeScript sources win over stray compiled files next to them.
  moduleFileExtensions: ['ts', 'js', 'json', 'node'],
  moduleNameMapper,
  transform,
  modulePathIgnorePatterns: ['<rootDir>/.*/dist/'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
};

module.exports = {
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/{packages,services,tests}/**/*.test.ts'],
      testPathIgnorePatterns: [
        ...common.testPathIgnorePatterns,
        '\\.int\\.test\\.ts$',
        '\\.e2e\\.test\\.ts$',
      ],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/{packages,services,tests}/**/*.{int,e2e}.test.ts'],
      globalSetup: '<rootDir>/packages/testing/src/global-setup.ts',
      globalTeardown: '<rootDir>/packages/testing/src/global-teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/packages/testing/src/integration-setup.ts'],
    },
  ],
};
