/**
 * `npm run deploy:local`: the user's whole journey with the real Pulumi engine, on this machine,
 * with no Google account. It deploys this clone's own index.ts to the local Cloud Run
 * (local/pulumi/), so what runs is what the program wires: its audience, its grant, its
 * environment. Then it checks what a user checks, and cleans up:
 *
 *   pulumi preview --policy-pack policy   pulumi up   the outputs   curl the client (200)
 *   curl -i the target (403)   npm run verify (every check passes)   pulumi destroy
 *
 * It uses the `pulumi` on PATH when it is 3.276 or later, otherwise the one scripts/pulumi-cli.sh
 * builds. What it keeps is ignored by git: the stack's config in Pulumi.local.yaml, and in
 * .pulumi-local/ a PULUMI_HOME with the stand-in plugins, a file backend and the stand-ins'
 * state. Ctrl-C stops what runs and leaves nothing running.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { isRunning } from "./launcher";
import { installStandInPlugins } from "./pulumi/home";
import { runningLocally } from "./pulumi/localCloudRunControl";
import { recordFile } from "./pulumi/localCloudRunSpec";

const ROOT = path.join(__dirname, "..");
const STATE = path.join(ROOT, ".pulumi-local");
const STACK = "local";
const CLOUD = path.join(STATE, "cloud");
const CLIENT_ACCOUNT = "s2s-client@local-project.iam.gserviceaccount.com";

const env: NodeJS.ProcessEnv = {
  ...process.env,
  PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ""}`,
  PULUMI_HOME: path.join(STATE, "home"),
  PULUMI_BACKEND_URL: `file://${path.join(STATE, "backend")}`,
  PULUMI_CONFIG_PASSPHRASE: "a local stack, not a secret",
  PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
  PULUMI_IGNORE_AMBIENT_PLUGINS: "true",
  PULUMI_SKIP_UPDATE_CHECK: "true",
  STANDIN_CLOUD: path.join(CLOUD, "cloud.json"),
  STANDIN_CLOUD_RUN: "local",
};

let current: ChildProcess | undefined;
let interrupted = false;

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Runs a command, its output indented under the step; resolves with its exit code and output. */
function run(
  command: string,
  args: readonly string[],
  quiet = false,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    current = child;
    let output = "";
    const show = (chunk: Buffer) => {
      output += chunk.toString();
      if (!quiet) process.stdout.write(chunk.toString().replace(/^(?=.)/gm, "  │ "));
    };
    child.stdout.on("data", show);
    child.stderr.on("data", show);
    child.on("error", reject);
    child.on("close", (code) => {
      current = undefined;
      resolve({ code, output });
    });
  });
}

/** The steps so far, each with its time; the journey stops at the first that fails. */
const times: string[] = [];
async function step(title: string, work: () => Promise<string>): Promise<void> {
  if (interrupted) fail("interrupted");
  say(`\n▶ ${title}`);
  const started = performance.now();
  const result = await work();
  // A step that finished as Ctrl-C came is not followed by the next one.
  if (interrupted) fail("interrupted");
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  times.push(`${title}: ${seconds} s`);
  say(`✔ ${result} (${seconds} s)`);
}

function fail(message: string): never {
  throw new Error(message);
}

async function pulumi(cli: string, args: readonly string[], quiet = false): Promise<string> {
  const { code, output } = await run(cli, [...args, "--non-interactive"], quiet);
  if (code !== 0) fail(`pulumi ${args[0]} exited ${code}`);
  return output;
}

async function answer(url: string) {
  const response = await fetch(url, { signal: AbortSignal.timeout(15_000) });
  return { status: response.status, body: await response.text() };
}

/** A shell command printing an ID token of the target's own account: someone else's. */
async function targetsOwnToken(targetUrl: string): Promise<string> {
  const target = (await runningLocally(CLOUD)).find((service) => service.name === "s2s-target");
  if (target === undefined) fail("the local Cloud Run runs no target");
  const tokenUrl = `${target.metadata}/computeMetadata/v1/instance/service-accounts/default/identity?audience=${targetUrl}&format=full`;
  const script = `fetch(${JSON.stringify(tokenUrl)},{headers:{"Metadata-Flavor":"Google"}}).then(r=>r.text()).then(t=>process.stdout.write(t))`;
  return `"${process.execPath}" -e '${script}'`;
}

/** Stops the local Cloud Run of this clone, if one still runs, and waits until it has. */
async function stopLocalCloudRun(): Promise<void> {
  let pid: number;
  try {
    ({ pid } = JSON.parse(readFileSync(recordFile(CLOUD), "utf8")) as { pid: number });
  } catch {
    return;
  }
  if (!isRunning(pid)) return;
  process.kill(pid, "SIGTERM");
  // It stops its services first, each within Cloud Run's 10 s.
  for (let waited = 0; isRunning(pid) && waited < 30_000; waited += 100) await delay(100);
}

async function journey(): Promise<void> {
  mkdirSync(CLOUD, { recursive: true });
  mkdirSync(path.join(STATE, "backend"), { recursive: true });
  let cli = "";
  await step("the Pulumi CLI", async () => {
    cli = execFileSync("bash", [path.join(ROOT, "scripts", "pulumi-cli.sh")], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    }).trim();
    await installStandInPlugins(env.PULUMI_HOME!, ROOT);
    return `${cli} (${execFileSync(cli, ["version"], { encoding: "utf8" }).trim()})`;
  });
  const withConfig = ["--stack", STACK];
  await step("a local stack with a file backend in .pulumi-local/", async () => {
    await pulumi(cli, ["stack", "select", "--create", STACK], true);
    await pulumi(cli, ["config", "set", "gcp:project", "local-project", ...withConfig], true);
    return `stack "${STACK}", project local-project`;
  });
  await step("pulumi preview --policy-pack policy", async () => {
    await pulumi(cli, ["preview", "--policy-pack", "policy", ...withConfig]);
    return "the policy pack passed";
  });
  await step("pulumi up", async () => {
    // --refresh: services an interrupted run left in the state are started again first.
    const output = await pulumi(cli, ["up", "--yes", "--skip-preview", "--refresh", ...withConfig]);
    if (!/The chain works after/.test(output)) fail("pulumi up did not say the chain works");
    return "deployed, and the chain works";
  });
  const outputs = JSON.parse(
    await pulumi(cli, ["stack", "output", "--json", "--stack", STACK], true),
  ) as Record<string, string>;
  const { clientUrl, targetUrl } = outputs;
  if (clientUrl === undefined || targetUrl === undefined) fail("the stack has no URLs");
  say(`\n  clientUrl ${clientUrl}\n  targetUrl ${targetUrl}`);
  await step(`curl ${clientUrl}`, async () => {
    const { status, body } = await answer(clientUrl);
    say(body.replace(/^/gm, "  │ "));
    if (status !== 200 || !body.includes(CLIENT_ACCOUNT)) fail(`the client answered ${status}`);
    return `200, the target names ${CLIENT_ACCOUNT} as its caller`;
  });
  await step(`curl -i ${targetUrl}`, async () => {
    const { status } = await answer(targetUrl);
    if (status !== 403) fail(`the target answered ${status} to a call without a token`);
    return "403: without a token, nobody gets in";
  });
  await step("npm run verify", async () => {
    const { code } = await run(process.execPath, [
      path.join(ROOT, "dist", "verify.js"),
      "--client",
      clientUrl,
      "--target",
      targetUrl,
      "--client-account",
      CLIENT_ACCOUNT,
      "--other-token-command",
      await targetsOwnToken(targetUrl),
    ]);
    if (code !== 0) fail(`npm run verify exited ${code}`);
    return "every check passed";
  });
  await step("pulumi destroy", async () => {
    await pulumi(cli, ["destroy", "--yes", "--skip-preview", ...withConfig]);
    return "every resource deleted, and the local Cloud Run stopped";
  });
}

process.once("SIGINT", () => {
  interrupted = true;
  say("\nInterrupted: stopping what runs.");
  current?.kill("SIGINT");
});

journey().then(
  () => {
    say(`\nThe whole journey worked:\n${times.map((time) => `  ${time}`).join("\n")}`);
  },
  async (error: unknown) => {
    await stopLocalCloudRun();
    say(`\n✘ ${interrupted ? "interrupted" : (error as Error).message}`);
    say("Nothing is left running; the stack's state stays in .pulumi-local/.");
    process.exitCode = 1;
  },
);
