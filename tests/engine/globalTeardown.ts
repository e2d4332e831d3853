/** Removes the engine tier's PULUMI_HOME once its tests have run. */
import { rm } from "node:fs/promises";

export default async function engineTierTeardown(): Promise<void> {
  const home = process.env.ENGINE_TIER_PULUMI_HOME;
  if (home !== undefined && home !== "") await rm(home, { recursive: true, force: true });
}
