/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test", "<rootDir>/policy"],
  testMatch: ["**/*.test.ts"],
  // Type checking is `tsc --noEmit`'s job (it runs first in `npm test`); transpile-only keeps jest fast on 2 cores.
  transform: { "^.+\\.ts$": ["ts-jest", { isolatedModules: true, diagnostics: false }] },
  // A whole program under mocks takes ~15 s alone but minutes on a loaded 2-core machine (CI runs the real-service
  // suites beside jest); a timeout is not an assertion, so it is generous and never the reason a test fails.
  testTimeout: 300000,
  // Each test file gets its own module registry, so every program test loads index.ts fresh under its own config.
  maxWorkers: 2,
};
