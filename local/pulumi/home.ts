/**
 * A PULUMI_HOME of the engine tier's own, in which the Pulumi engine finds the stand-in plugins
 * as if they had been installed (`$PULUMI_HOME/plugins/<kind>-<name>-v<version>/`): the gcp and
 * docker providers, a Node.js language host and Pulumi's Node.js dynamic provider. A Pulumi CLI
 * that ships its own language host and dynamic provider (next to its binary) uses those
 * instead: the engine looks there before the plugin folder. Each plugin is a small script
 * that runs a bundle of dist/ (or the SDK's own dynamic provider) on the project's Node.js.
 */
import { chmod, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { DOCKER_VERSION, GCP_VERSION, PULUMI_VERSION } from "./versions";

interface Plugin {
  folder: string;
  executable: string;
  /** What the script runs with Node.js, relative to the project's root. */
  script: string;
}

const PLUGINS: Plugin[] = [
  {
    folder: `resource-gcp-v${GCP_VERSION}`,
    executable: "pulumi-resource-gcp",
    script: "dist/pulumi-resource-gcp.js",
  },
  {
    folder: `resource-docker-v${DOCKER_VERSION}`,
    executable: "pulumi-resource-docker",
    script: "dist/pulumi-resource-docker.js",
  },
  {
    folder: `language-nodejs-v${PULUMI_VERSION}`,
    executable: "pulumi-language-nodejs",
    script: "dist/pulumi-language-nodejs.js",
  },
  {
    folder: `resource-pulumi-nodejs-v${PULUMI_VERSION}`,
    executable: "pulumi-resource-pulumi-nodejs",
    script: "node_modules/@pulumi/pulumi/cmd/dynamic-provider",
  },
];

/** A POSIX shell word that stands for `text` exactly. */
function quoted(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * Writes the plugin scripts under `home`, running `node` (the project's Node.js) on the bundles
 * and SDK of the project at `projectRoot`. The bundles must be built (`node build.mjs`).
 */
export async function installStandInPlugins(
  home: string,
  projectRoot: string,
  node: string = process.execPath,
): Promise<void> {
  for (const plugin of PLUGINS) {
    const folder = path.join(home, "plugins", plugin.folder);
    await mkdir(folder, { recursive: true });
    const file = path.join(folder, plugin.executable);
    const target = path.join(projectRoot, plugin.script);
    await writeFile(file, `#!/bin/sh\nexec ${quoted(node)} ${quoted(target)} "$@"\n`);
    await chmod(file, 0o755);
  }
}
