/**
 * The engine tier's set-up, run once before its tests: the bundles (services, stand-in plugins),
 * a Pulumi CLI (the one on PATH when it is new enough, otherwise one built from the Go module
 * proxy and cached; scripts/pulumi-cli.sh), and a PULUMI_HOME holding the stand-in plugins. The
 * tests find the CLI and the home through the environment this sets.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { installStandInPlugins } from "../../local/pulumi/home";

const buildBundles = createRequire(__filename)("../globalSetup.js") as () => void;
const ROOT = path.join(__dirname, "..", "..");

export default async function engineTierSetup(): Promise<void> {
  buildBundles();
  const cli = execFileSync("bash", [path.join(ROOT, "scripts", "pulumi-cli.sh")], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  }).trim();
  const home = mkdtempSync(path.join(os.tmpdir(), "engine-tier-home-"));
  await installStandInPlugins(home, ROOT);
  process.env.ENGINE_TIER_PULUMI = cli;
  process.env.ENGINE_TIER_PULUMI_HOME = home;
  console.log(
    `\nengine tier: ${cli} (${execFileSync(cli, ["version"], { encoding: "utf8" }).trim()}), plugins in ${home}`,
  );
}
