/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test", "<rootDir>/policy"],
  testMatch: ["**/*.test.ts"],
  // Type checking is `tsc --noEmit`'s job (it runs first in `npm test`); transpile-only keeps jest fast on 2 cores.
  transform: { "^.+\\.ts$": ["ts-jest", { isolatedModules: true, diagnostics: false }] },
  // A hang guard, not a speed target (speed belongs in benchmarks): a whole program under mocks takes ~10 s on an idle
  // 2-core machine, but minutes when the Python lane's JVMs (npm test runs both at once) or other work share the cores.
  testTimeout: 300000,
  // Each test file gets its own module registry, so every program test loads index.ts fresh under its own config.
  maxWorkers: 2,
};
