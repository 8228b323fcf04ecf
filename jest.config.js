/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test", "<rootDir>/policy"],
  testMatch: ["**/*.test.ts"],
  // Type checking is `tsc --noEmit`'s job (it runs first in `npm test`); transpile-only keeps jest fast on 2 cores.
  transform: { "^.+\\.ts$": ["ts-jest", { isolatedModules: true, diagnostics: false }] },
  // A whole-program run under mocks takes 20-40 s alone but minutes on a shared, loaded 2-core machine; the beforeAll
  // hooks wait for it. A bound, not a speed target (benchmarks print figures).
  testTimeout: 300000,
  // Each test file gets its own module registry, so every program test loads index.ts fresh under its own config.
  maxWorkers: 2,
};
