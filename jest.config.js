/**
 * Three projects: `unit` (no I/O, *.test.ts), `integration` (one service or package against the
 * real servers of the local stack, *.int.test.ts) and `e2e` (across services: *.e2e.test.ts under tests/).
 * The integration and e2e projects start the stack once in globalSetup (the second finds it
 * running and reuses it).
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
  // .stack: the servers' data (etcd's *.snap files would pass for obsolete snapshots).
  modulePathIgnorePatterns: ['<rootDir>/.*/dist/', '<rootDir>/.stack/'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
};

const withStack = {
  globalSetup: '<rootDir>/packages/testing/src/global-setup.ts',
  globalTeardown: '<rootDir>/packages/testing/src/global-teardown.ts',
  setupFilesAfterEnv: ['<rootDir>/packages/testing/src/integration-setup.ts'],
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
      ...withStack,
      displayName: 'integration',
      testMatch: ['<rootDir>/{packages,services,tests}/**/*.int.test.ts'],
    },
    {
      ...common,
      ...withStack,
      displayName: 'e2e',
      testMatch: ['<rootDir>/tests/**/*.e2e.test.ts'],
    },
  ],
};
