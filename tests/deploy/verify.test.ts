/**
 * `npm run verify` against the local stack, as a user runs it after `npm start`: it passes on the
 * real shape, in either ingress mode, fails with a non-zero exit when the "target" it is given is
 * public, says so when it skipped a check, and waits for a chain that takes a while to work.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { type LocalStack, type LocalStackOptions, startLocalStack } from "../../local/stack";
import { UsageError, parseFlags, verifyOptions } from "../../deploy/verify";
import { sharedLocalStack } from "../helpers/localStack";
import { closedPortUrl } from "../helpers/servers";

const VERIFY = join(__dirname, "..", "..", "dist", "verify.js");
const FOREIGN_TOKEN_CHECK = "target with another token";

/**
 * Runs the verifier as its own process. Asynchronously: the local stack's front end and
 * stand-ins serve from this process, which must keep answering while the verifier runs.
 */
async function verify(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const started = Date.now();
  const child = spawn(process.execPath, [VERIFY, ...args], { env });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const [status] = (await once(child, "close")) as [number | null];
  return { status, stdout, stderr, wallMs: Date.now() - started };
}

/** Whether `stdout` says `text`, wherever its lines were wrapped. */
function says(stdout: string, text: string): boolean {
  return stdout.replace(/\s+/g, "").includes(text.replace(/\s+/g, ""));
}

/** Text without its white space: how a cell compares once the table has wrapped it. */
function squeezed<T extends Record<string, string>>(cells: T): T {
  return Object.fromEntries(
    Object.entries(cells).map(([key, text]) => [key, text.replace(/\s+/g, "")]),
  ) as T;
}

/**
 * A row of the printed table, each cell's wrapped lines joined again and compared without
 * white space (see `squeezed`). The header line says where each column starts; the check
 * names fit their column, so a row's continuation lines leave it empty.
 */
function row(stdout: string, check: string) {
  const lines = stdout.split("\n");
  const header = lines.findIndex((line) => /^check\s+expected\s+got\s+result$/.test(line));
  if (header < 0) throw new Error(`no table in:\n${stdout}`);
  const starts = ["check", "expected", "got", "result"].map((name) => lines[header]!.indexOf(name));
  const rows: string[][] = [];
  for (const line of lines.slice(header + 2)) {
    if (line.trim() === "") break;
    if (!line.startsWith(" ")) rows.push(starts.map(() => ""));
    const cells = rows.at(-1)!;
    starts.forEach((start, column) => {
      cells[column] += line.slice(start, starts[column + 1]).replace(/\s+/g, "");
    });
  }
  const found = rows.find(([name]) => name === check.replace(/\s+/g, ""));
  if (found === undefined) throw new Error(`no row "${check}" in:\n${stdout}`);
  const [, expected = "", got = "", result = ""] = found;
  return { expected, got, result };
}

/** A command printing the target's own ID token for the target: a caller that is not the client. */
function targetTokenCommand(stack: LocalStack): string {
  const { target } = stack.services;
  const url = `${target.metadata.url}/computeMetadata/v1/instance/service-accounts/default/identity?audience=${target.url}&format=full`;
  const script = `fetch(${JSON.stringify(url)},{headers:{"Metadata-Flavor":"Google"}}).then(r=>r.text()).then(t=>process.stdout.write(t))`;
  return `"${process.execPath}" -e '${script}'`;
}

/** Verifies the local stack, with the target's own token as the foreign one, unless overridden. */
function verifyLocal(stack: LocalStack, overrides: Record<string, string> = {}) {
  const { client, target } = stack.services;
  const flags: Record<string, string> = {
    "--client": client.url,
    "--target": target.url,
    "--other-token-command": targetTokenCommand(stack),
    ...overrides,
  };
  return verify(Object.entries(flags).flat());
}

describe("against the local stack", () => {
  const stack = sharedLocalStack();

  test("passes every check, naming the client's account, and exits 0", async () => {
    const { client } = stack().services;
    const { status, stdout } = await verifyLocal(stack(), { "--client-account": client.email });
    expect(row(stdout, "client GET /")).toMatchObject(
      squeezed({
        got: `200, caller ${client.email}`,
        result: "pass",
      }),
    );
    expect(row(stdout, "target without a token")).toMatchObject(
      squeezed({
        expected: "403",
        got: "403",
        result: "pass",
      }),
    );
    expect(row(stdout, FOREIGN_TOKEN_CHECK)).toMatchObject(
      squeezed({ got: "403", result: "pass" }),
    );
    expect(stdout).toContain("All 3 checks passed: the security shape holds.");
    expect(status).toBe(0);
  });

  test("prints its banner, its table and its summary within 100 columns", async () => {
    const { stdout } = await verifyLocal(stack(), { "--other-token-command": "exit 3" });
    expect(stdout).toContain(`  target  ${stack().services.target.url}/ (ingress all)`);
    const widest = Math.max(...stdout.split("\n").map((line) => line.length));
    expect(widest).toBeLessThanOrEqual(100);
  });

  test("fails, exiting 1, when the target it is given answers without a token", async () => {
    // The client is public: as a "target" it is exactly the mistake the check exists for.
    const { status, stdout } = await verifyLocal(stack(), {
      "--target": stack().services.client.url,
    });
    expect(row(stdout, "target without a token")).toMatchObject(
      squeezed({
        got: "200: the target is public",
        result: "fail",
      }),
    );
    expect(row(stdout, FOREIGN_TOKEN_CHECK).result).toBe("fail");
    expect(stdout).toContain("2 of 3 checks failed: target without a token;");
    expect(status).toBe(1);
  });

  test("fails when the target names a caller other than the expected client account", async () => {
    const { status, stdout } = await verifyLocal(stack(), {
      "--client-account": "someone-else@local-project.iam.gserviceaccount.com",
    });
    expect(row(stdout, "client GET /").result).toBe("fail");
    expect(status).toBe(1);
  });

  test("a skipped check is named with its reason and exits 3, not as a pass", async () => {
    const { status, stdout } = await verifyLocal(stack(), { "--other-token-command": "exit 3" });
    expect(row(stdout, FOREIGN_TOKEN_CHECK)).toMatchObject(
      squeezed({
        got: "no token from `exit 3`: exit code 3",
        result: "skip",
      }),
    );
    expect(stdout.replace(/\s+/g, " ")).toContain(
      `2 of 3 checks passed, 1 skipped: ${FOREIGN_TOKEN_CHECK} (no token from \`exit 3\`: exit code 3). A skipped check is not a pass: the security shape is not fully verified (exit code 3).`,
    );
    expect(stdout).not.toContain("the security shape holds");
    expect(status).toBe(3);
  });
});

describe("against the local stack with internal ingress", () => {
  const stack = sharedLocalStack({ targetIngress: "internal" });

  test("passes when told the ingress: the target answers 404 from outside, the client gets through", async () => {
    const { client } = stack().services;
    const { status, stdout } = await verifyLocal(stack(), {
      "--client-account": client.email,
      "--target-ingress": "internal",
    });
    expect(row(stdout, "client GET /")).toMatchObject(
      squeezed({
        got: `200, caller ${client.email}`,
        result: "pass",
      }),
    );
    for (const check of ["target without a token", FOREIGN_TOKEN_CHECK]) {
      expect(row(stdout, check)).toMatchObject(
        squeezed({
          expected: "404 (internal ingress turns away callers outside the VPC)",
          got: "404",
          result: "pass",
        }),
      );
    }
    expect(status).toBe(0);
  });

  test("expecting ingress all, it fails on the 404 and says which flag to pass", async () => {
    const { status, stdout } = await verifyLocal(stack());
    expect(row(stdout, "target without a token")).toMatchObject(
      squeezed({
        expected: "403",
        got: "404: is the target's ingress internal? then pass --target-ingress internal",
        result: "fail",
      }),
    );
    expect(status).toBe(1);
  });
});

describe("--wait", () => {
  let stack: LocalStack | undefined;
  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
  });

  async function localStack(options: LocalStackOptions) {
    stack = await startLocalStack({ basePort: 0, ...options });
    return stack;
  }

  test("waits for a delayed grant to take effect, printing its progress within 100 columns, then passes every check", async () => {
    const running = await localStack({ grantDelaySeconds: 8 });
    const { client } = running.services;
    const { status, stdout } = await verifyLocal(running, {
      "--client-account": client.email,
      "--wait": "2m",
    });
    expect(says(stdout, `Waiting up to 2m00s for ${client.url}/ to answer 200 naming`)).toBe(true);
    expect(
      says(
        stdout,
        "502 target_forbidden (the target answered 403); Grant roles/run.invoker on the target to the client's service account",
      ),
    ).toBe(true);
    expect(stdout).toMatch(/The chain works after \d+s: 200, caller /);
    expect(stdout).toContain("All 3 checks passed");
    expect(Math.max(...stdout.split("\n").map((line) => line.length))).toBeLessThanOrEqual(100);
    expect(status).toBe(0);
  }, 150_000);

  test("on a stack that never comes up it waits the full time, then fails with the reason", async () => {
    const clientUrl = await closedPortUrl();
    const { status, stdout, wallMs } = await verify([
      "--client",
      clientUrl,
      "--target",
      await closedPortUrl(),
      "--client-account",
      "s2s-client@p.iam.gserviceaccount.com",
      "--other-token-command",
      "exit 3",
      "--wait",
      "3s",
    ]);
    const reason =
      "The wait ran out after 3s: the client did not answer 200 naming s2s-client@p.iam.gserviceaccount.com within 3s";
    expect(says(stdout, reason)).toBe(true);
    expect(says(stdout, "last seen: no answer from the client (ECONNREFUSED)")).toBe(true);
    expect(wallMs).toBeGreaterThanOrEqual(3_000);
    expect(status).toBe(1);
  });

  test("a grant that never takes effect fails the wait naming the grant, and exits 1", async () => {
    const running = await localStack({ grantDelaySeconds: 3600 });
    const { status, stdout } = await verifyLocal(running, {
      "--client-account": running.services.client.email,
      "--wait": "3s",
    });
    expect(
      says(
        stdout,
        "(the target answered 403). Grant roles/run.invoker on the target to the client's service account",
      ),
    ).toBe(true);
    expect(row(stdout, "client GET /").result).toBe("fail");
    expect(status).toBe(1);
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

  test("without --client and --target the URLs, the client's account and the ingress come from the stack's outputs", () => {
    const options = verifyOptions([], () => ({
      clientUrl: "https://s2s-client-abc-ew.a.run.app",
      targetUrl: "https://s2s-target-abc-ew.a.run.app",
      clientServiceAccount: "s2s-client@p.iam.gserviceaccount.com",
      targetIngress: "internal",
    }));
    expect(options).toMatchObject({
      clientUrl: "https://s2s-client-abc-ew.a.run.app/",
      targetUrl: "https://s2s-target-abc-ew.a.run.app/",
      clientAccount: "s2s-client@p.iam.gserviceaccount.com",
      targetIngress: "internal",
    });
  });

  test("a stack without a targetIngress output is taken to have ingress all", () => {
    const options = verifyOptions([
      "--client",
      "https://c.example",
      "--target",
      "https://t.example",
    ]);
    expect(options.targetIngress).toBe("all");
  });

  test("one of --client and --target alone is refused", () => {
    expect(() => verifyOptions(["--client", "https://c.example"], () => ({}))).toThrow(
      "--client and --target go together",
    );
  });

  const both = ["--client", "https://c.example", "--target", "https://t.example"];

  test.each(["private", "internal-and-cloud-load-balancing", "ALL"])(
    "--target-ingress %j is refused",
    (ingress) => {
      expect(() => verifyOptions([...both, "--target-ingress", ingress])).toThrow(
        `--target-ingress must be all or internal (got "${ingress}")`,
      );
    },
  );

  test.each(["10", "10 m", "0s", "1.5m", "ten"])("--wait %j is refused", (wait) => {
    expect(() =>
      verifyOptions([...both, "--client-account", "c@p.iam.gserviceaccount.com", "--wait", wait]),
    ).toThrow(`--wait must be a duration like 90s, 10m or 1h (got "${wait}")`);
  });

  test("--wait needs the client's account, since the wait ends only when the target names it", () => {
    expect(() => verifyOptions([...both, "--wait", "5m"])).toThrow(
      "--wait needs the client's account: pass --client-account <email>",
    );
    expect(
      verifyOptions([...both, "--client-account", "c@p.iam.gserviceaccount.com", "--wait", "5m"])
        .waitMs,
    ).toBe(300_000);
  });

  test("without the Pulumi CLI and without URLs it says what to pass, exiting 2", async () => {
    const { status, stderr } = await verify([], { PATH: "/nonexistent" });
    expect(status).toBe(2);
    expect(stderr).toContain(
      "could not read the stack's outputs (the pulumi CLI is not installed); pass --client and --target",
    );
  });
});
