/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/tests"],
  testMatch: ["**/*.test.ts"],
  // The container tier needs a container engine and the engine tier a Pulumi CLI:
  // `npm run test:containers` and `npm run test:engine` run them on their own.
  testPathIgnorePatterns: ["/node_modules/", "/tests/containers/", "/tests/engine/"],
  transform: {
    // Type-checking is `npm run typecheck`'s job; transpiling file by file keeps tests fast.
    "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.jest.json" }],
  },
  globalSetup: "<rootDir>/tests/globalSetup.js",
  testTimeout: 30000,
};
