/**
 * One stack of the program under the real Pulumi engine, in a scratch copy of the program (so a
 * test may edit it), with a file backend and the stand-in providers of the tier's PULUMI_HOME.
 * Every command runs the Pulumi CLI as a user would and hands back its exit code and output;
 * nothing reaches the network.
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { isRunning } from "../../local/launcher";
import { type RunningLocalService, runningLocally } from "../../local/pulumi/localCloudRunControl";
import { copyRepository } from "./repositoryCopy";

const STACK = "engine";
/** The project the local stack's accounts live in, so that the chain's e-mails agree. */
export const ENGINE_PROJECT = "local-project";

export interface EngineRun {
  code: number | null;
  /** Standard output and error as the user would see them, interleaved. */
  output: string;
}

export interface Fault {
  operation: "create" | "update" | "delete";
  /** The resource's name in the program, e.g. `client-service`. */
  resource: string;
  times: number;
  error: string;
}

export interface StateResource {
  type: string;
  urn: string;
  protect: boolean;
  outputs: Record<string, unknown>;
}

export interface EngineStackOptions {
  /** Stack configuration beyond `gcp:project`, e.g. `{ waitForChainMinutes: "1" }`. */
  config?: Record<string, string>;
  /**
   * The URL each Cloud Run service reports, by service name, for services that run elsewhere
   * (the local stack of `npm start`). Without it, the local Cloud Run runs what the program
   * deploys, and each service reports its own local URL.
   */
  serviceUrls?: Record<string, string>;
  /** Seconds before a grant reaches the local Cloud Run's front ends (IAM propagation). */
  grantDelaySeconds?: number;
  /** Leave `gcp:project` unset. */
  withoutProject?: boolean;
}

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") {
    throw new Error(`${name} is not set: run the engine tier with npm run test:engine`);
  }
  return value;
}

export class EngineStack {
  private constructor(
    /** The scratch copy of the program, where the CLI runs. */
    readonly dir: string,
    private readonly scratch: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  static async create(options: EngineStackOptions = {}): Promise<EngineStack> {
    const scratch = await mkdtemp(path.join(os.tmpdir(), "engine-stack-"));
    const dir = path.join(scratch, "program");
    await mkdir(path.join(scratch, "backend"), { recursive: true });
    await copyRepository(dir);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PULUMI_HOME: required("ENGINE_TIER_PULUMI_HOME"),
      PULUMI_BACKEND_URL: `file://${path.join(scratch, "backend")}`,
      PULUMI_CONFIG_PASSPHRASE: "engine tier, not a secret",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      PULUMI_IGNORE_AMBIENT_PLUGINS: "true",
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_SKIP_CONFIRMATIONS: "true",
      // The program and the plugins run on the project's Node.js.
      PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ""}`,
      STANDIN_CLOUD: path.join(scratch, "cloud.json"),
      STANDIN_FAULTS: path.join(scratch, "faults.json"),
      ...(options.serviceUrls === undefined
        ? {
            STANDIN_CLOUD_RUN: "local",
            STANDIN_GRANT_DELAY_SECONDS: String(options.grantDelaySeconds ?? 0),
          }
        : { STANDIN_CLOUD_RUN_URLS: JSON.stringify(options.serviceUrls) }),
    };
    const stack = new EngineStack(dir, scratch, env);
    await stack.mustSucceed(["stack", "init", STACK]);
    const config = options.withoutProject
      ? { ...options.config }
      : { "gcp:project": ENGINE_PROJECT, ...options.config };
    for (const [key, value] of Object.entries(config)) await stack.setConfig(key, value);
    return stack;
  }

  /** Runs the Pulumi CLI with `args` in the program's folder. */
  pulumi(args: readonly string[]): Promise<EngineRun> {
    return new Promise((resolve, reject) => {
      const child = spawn(required("ENGINE_TIER_PULUMI"), [...args, "--non-interactive"], {
        cwd: this.dir,
        env: this.env,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, output }));
    });
  }

  /** Runs the CLI and fails the test with its output unless it exits 0. */
  async mustSucceed(args: readonly string[]): Promise<EngineRun> {
    const run = await this.pulumi(args);
    if (run.code !== 0) {
      throw new Error(`pulumi ${args.join(" ")} exited ${run.code}:\n${run.output}`);
    }
    return run;
  }

  up(...extra: string[]): Promise<EngineRun> {
    return this.pulumi(["up", "--yes", "--skip-preview", ...extra]);
  }

  preview(...extra: string[]): Promise<EngineRun> {
    return this.pulumi(["preview", ...extra]);
  }

  destroy(...extra: string[]): Promise<EngineRun> {
    return this.pulumi(["destroy", "--yes", "--skip-preview", ...extra]);
  }

  async setConfig(key: string, value: string): Promise<void> {
    await this.mustSucceed(["config", "set", key, value]);
  }

  /** Rewrites a file of the scratch copy, e.g. to change a service's code. */
  async edit(file: string, change: (text: string) => string): Promise<void> {
    const where = path.join(this.dir, file);
    const before = await readFile(where, "utf8");
    const after = change(before);
    if (after === before) throw new Error(`the edit of ${file} changed nothing`);
    await writeFile(where, after);
  }

  /** Makes the stand-in providers fail the next matching operations with Google's words. */
  async injectFaults(faults: readonly Fault[]): Promise<void> {
    await writeFile(this.env.STANDIN_FAULTS!, JSON.stringify(faults));
  }

  /** The resources the stack's state holds, from `pulumi stack export`. */
  async resources(): Promise<StateResource[]> {
    const { output } = await this.mustSucceed(["stack", "export"]);
    const deployment = (JSON.parse(output) as { deployment?: { resources?: StateResource[] } })
      .deployment;
    return (deployment?.resources ?? []).map((resource) => ({
      type: resource.type,
      urn: resource.urn,
      protect: resource.protect === true,
      outputs: resource.outputs ?? {},
    }));
  }

  /** The names of the state's resources of `type`. */
  async named(type: string): Promise<string[]> {
    return (await this.resources())
      .filter((resource) => resource.type === type)
      .map((resource) => resource.urn.slice(resource.urn.lastIndexOf("::") + 2));
  }

  /** What exists "in the cloud" of the stand-in providers, by key. */
  async cloud(): Promise<Record<string, unknown>> {
    try {
      return JSON.parse(await readFile(this.env.STANDIN_CLOUD!, "utf8")) as Record<string, unknown>;
    } catch {
      return {};
    }
  }

  /** The stack's outputs. */
  async outputs(): Promise<Record<string, unknown>> {
    const { output } = await this.mustSucceed(["stack", "output", "--json"]);
    return JSON.parse(output) as Record<string, unknown>;
  }

  /** The local Cloud Run's process, while one runs for this stack. */
  async localCloudRunPid(): Promise<number | undefined> {
    try {
      const { pid } = JSON.parse(
        await readFile(path.join(this.scratch, "local-cloud-run.json"), "utf8"),
      ) as { pid: number };
      return isRunning(pid) ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /** Resolves once no local Cloud Run runs for this stack (it ends after its last service). */
  async localCloudRunStopped(): Promise<void> {
    while ((await this.localCloudRunPid()) !== undefined) await delay(100);
  }

  /** Ends the local Cloud Run as a restarted machine would: its services are gone. */
  async stopLocalCloudRun(): Promise<void> {
    const pid = await this.localCloudRunPid();
    if (pid === undefined) return;
    process.kill(pid, "SIGTERM");
    await this.localCloudRunStopped();
  }

  /** What the local Cloud Run runs now, by service name. */
  async localServices(): Promise<RunningLocalService[]> {
    return runningLocally(this.scratch);
  }

  /**
   * Stops the local Cloud Run, if one still runs (a test that ends before `destroy`), and
   * removes the scratch copy, its backend and what the stand-ins kept.
   */
  async dispose(): Promise<void> {
    await this.stopLocalCloudRun();
    await rm(this.scratch, { recursive: true, force: true });
  }
}
