/**
 * `npm run verify` against the local stack, as a user runs it after `npm start`: it passes on the
 * real shape and fails, with a non-zero exit, when the "target" it is given is public.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { type LocalStack, startLocalStack } from "../local/stack";
import { UsageError, parseFlags, verifyOptions } from "../verify";

const VERIFY = join(__dirname, "..", "dist", "verify.js");

/**
 * Runs the verifier as its own process. Asynchronously: the local stack's front end and
 * stand-ins serve from this process, which must keep answering while the verifier runs.
 */
async function verify(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const child = spawn(process.execPath, [VERIFY, ...args], { env });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const [status] = (await once(child, "close")) as [number | null];
  return { status, stdout, stderr };
}

/** The row of the printed table for a check, split into its cells. */
function row(stdout: string, check: string): string {
  const line = stdout.split("\n").find((text) => text.startsWith(check));
  if (line === undefined) throw new Error(`no row "${check}" in:\n${stdout}`);
  return line;
}

/** A command printing the target's own ID token for the target: a caller that is not the client. */
function targetTokenCommand(stack: LocalStack): string {
  const { target } = stack.services;
  const url = `${target.metadata.url}/computeMetadata/v1/instance/service-accounts/default/identity?audience=${target.url}&format=full`;
  const script = `fetch(${JSON.stringify(url)},{headers:{"Metadata-Flavor":"Google"}}).then(r=>r.text()).then(t=>process.stdout.write(t))`;
  return `"${process.execPath}" -e '${script}'`;
}

describe("against the local stack", () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({ basePort: 0 });
  });
  afterAll(() => stack?.stop());

  test("passes every check, naming the client's account, and exits 0", async () => {
    const { client, target } = stack.services;
    const { status, stdout } = await verify([
      "--client",
      client.url,
      "--target",
      target.url,
      "--client-account",
      client.email,
      "--other-token-command",
      targetTokenCommand(stack),
    ]);
    expect(row(stdout, "client GET /")).toMatch(new RegExp(`200, caller ${client.email}\\s+pass$`));
    expect(row(stdout, "target GET / without a token")).toMatch(/403\s+pass$/);
    expect(row(stdout, "target GET / with a token that is not the client's")).toMatch(
      /403\s+pass$/,
    );
    expect(stdout).toContain("The security shape holds.");
    expect(status).toBe(0);
  });

  test("fails, exiting 1, when the target it is given answers without a token", async () => {
    const { client } = stack.services;
    // The client is public: as a "target" it is exactly the mistake the check exists for.
    const { status, stdout } = await verify([
      "--client",
      client.url,
      "--target",
      client.url,
      "--other-token-command",
      targetTokenCommand(stack),
    ]);
    expect(row(stdout, "target GET / without a token")).toMatch(
      /200: the target is public\s+fail$/,
    );
    expect(row(stdout, "target GET / with a token that is not the client's")).toMatch(/fail$/);
    expect(status).toBe(1);
  });

  test("fails when the target names a caller other than the expected client account", async () => {
    const { client, target } = stack.services;
    const { status, stdout } = await verify([
      "--client",
      client.url,
      "--target",
      target.url,
      "--client-account",
      "someone-else@local-project.iam.gserviceaccount.com",
      "--other-token-command",
      targetTokenCommand(stack),
    ]);
    expect(row(stdout, "client GET /")).toMatch(/fail$/);
    expect(status).toBe(1);
  });

  test("skips the foreign-token check with the reason when no token can be had, and still passes", async () => {
    const { client, target } = stack.services;
    const { status, stdout } = await verify([
      "--client",
      client.url,
      "--target",
      target.url,
      "--other-token-command",
      "exit 3",
    ]);
    expect(row(stdout, "target GET / with a token that is not the client's")).toMatch(
      /no token from `exit 3`: exit code 3\s+skip$/,
    );
    expect(status).toBe(0);
  });
});

describe("arguments", () => {
  test("an unknown flag, or a flag without its value, is refused with the usage", async () => {
    expect(() => parseFlags(["--prot", "9100"])).toThrow(
      new UsageError('unknown argument "--prot"'),
    );
    expect(() => parseFlags(["--client"])).toThrow(new UsageError("--client needs a value"));
    const { status, stderr } = await verify(["--clinet", "http://127.0.0.1:1"]);
    expect(status).toBe(2);
    expect(stderr).toContain('unknown argument "--clinet"');
    expect(stderr).toContain("usage: npm run verify");
  });

  test("without --client and --target the URLs and the client's account come from the stack's outputs", () => {
    const options = verifyOptions([], () => ({
      clientUrl: "https://s2s-client-abc-ew.a.run.app",
      targetUrl: "https://s2s-target-abc-ew.a.run.app",
      clientServiceAccount: "s2s-client@p.iam.gserviceaccount.com",
    }));
    expect(options).toMatchObject({
      clientUrl: "https://s2s-client-abc-ew.a.run.app/",
      targetUrl: "https://s2s-target-abc-ew.a.run.app/",
      clientAccount: "s2s-client@p.iam.gserviceaccount.com",
    });
  });

  test("one of --client and --target alone is refused", () => {
    expect(() => verifyOptions(["--client", "https://c.example"], () => ({}))).toThrow(
      "--client and --target go together",
    );
  });

  test("without the Pulumi CLI and without URLs it says what to pass, exiting 2", async () => {
    const { status, stderr } = await verify([], { PATH: "/nonexistent" });
    expect(status).toBe(2);
    expect(stderr).toContain(
      "could not read the stack's outputs (the pulumi CLI is not installed); pass --client and --target",
    );
  });
});
