/**
 * The engine tier (`npm run test:engine`): the program under the real Pulumi engine, with
 * stand-in providers. One test at a time: each runs the Pulumi CLI, which keeps both cores busy.
 * @type {import('jest').Config}
 */
const base = require("./jest.config.js");

module.exports = {
  ...base,
  roots: ["<rootDir>/tests/engine"],
  testPathIgnorePatterns: ["/node_modules/"],
  globalSetup: "<rootDir>/tests/engine/globalSetup.ts",
  globalTeardown: "<rootDir>/tests/engine/globalTeardown.ts",
  testTimeout: 300000,
};
