/**
 * The container tier's set-up, run once before its test file: the suite's own set-up (building
 * the bundles the images must match), then a check that a Docker engine answers, so that a
 * machine without one gets the one message saying how to get it rather than a failure per test.
 */
import { createRequire } from "node:module";
import { connectDocker } from "./dockerEngine";

const buildBundles = createRequire(__filename)("../globalSetup.js") as () => void;

export default async function containerTierSetup(): Promise<void> {
  await connectDocker();
  buildBundles();
}
