/**
 * The retry while Google propagates, under the real engine: the stand-in providers fail an
 * operation with Google's own words, and the program's error hook retries exactly the failures
 * that waiting cures, says so under the failing resource, and lets every other failure fail
 * at once.
 */
import { EngineStack } from "./engineStack";
import { namesThat } from "./runOutput";

const ENGINE_TEST_MS = 300_000;
const ACT_AS_DENIED =
  "Error 403: Permission 'iam.serviceaccounts.actAs' denied on service account s2s-client@local-project.iam.gserviceaccount.com (or it may not exist).";

let stack: EngineStack | undefined;
beforeEach(async () => {
  // The chain's wait is not what these tests are about.
  stack = await EngineStack.create({ config: { waitForChain: "false" } });
});
afterEach(async () => {
  await stack?.dispose();
  stack = undefined;
});

test(
  "a create refused because the new account has not reached Cloud Run yet is retried, then succeeds",
  async () => {
    await stack!.injectFaults([
      {
        operation: "create",
        resource: "client-service",
        times: 1,
        error: `Error creating Service: googleapi: ${ACT_AS_DENIED}`,
      },
    ]);
    const run = await stack!.up();
    expect(run.code).toBe(0);
    expect(run.output).toMatch(
      /gcp:cloudrunv2:Service \(client-service\):\s+warning: Waiting for service account s2s-client@local-project\.iam\.gserviceaccount\.com to reach Cloud Run .*create again in 15 s \(retry 1 of 20\)\./,
    );
    expect(namesThat(run.output, "created")).toContain("client-service");
  },
  ENGINE_TEST_MS,
);

test(
  "an update refused while an API just enabled takes effect is retried, then succeeds",
  async () => {
    await stack!.mustSucceed(["up", "--yes", "--skip-preview"]);
    await stack!.edit("services/target-service/app.ts", (text) => `${text}\n// v2\n`);
    await stack!.injectFaults([
      {
        operation: "update",
        resource: "target-service",
        times: 1,
        error:
          "Error updating Service: googleapi: Error 403: Cloud Run Admin API has not been used in project 104175936690 before or it is disabled. Enable it by visiting https://console.developers.google.com/apis/api/run.googleapis.com/overview?project=104175936690 then retry.",
      },
    ]);
    const run = await stack!.up();
    expect(run.code).toBe(0);
    expect(run.output).toMatch(
      /Waiting for run\.googleapis\.com, enabled by this stack, to take effect; update again in 15 s \(retry 1 of 20\)\./,
    );
    expect(namesThat(run.output, "updated")).toContain("target-service");
  },
  ENGINE_TEST_MS,
);

test(
  "a failure that waiting cannot cure fails the create at once, with Google's message",
  async () => {
    const refusal =
      "Error creating Service: googleapi: Error 400: Revision template should contain exactly one container with an exposed port.";
    await stack!.injectFaults([
      { operation: "create", resource: "target-service", times: 1, error: refusal },
    ]);
    const run = await stack!.up();
    expect(run.code).not.toBe(0);
    expect(run.output).toContain(refusal);
    expect(run.output).not.toContain("again in 15 s");
  },
  ENGINE_TEST_MS,
);

test(
  "an API the stack cannot enable itself fails at once, with the command that enables it",
  async () => {
    await stack!.injectFaults([
      {
        operation: "create",
        resource: "run-api",
        times: 1,
        error:
          "Error when reading or editing Project Service local-project/run.googleapis.com: googleapi: Error 403: Cloud Resource Manager API has not been used in project 104175936690 before or it is disabled. Enable it by visiting https://console.developers.google.com/apis/api/cloudresourcemanager.googleapis.com/overview?project=104175936690 then retry.",
      },
    ]);
    const run = await stack!.up();
    expect(run.code).not.toBe(0);
    expect(run.output).toContain(
      "gcloud services enable cloudresourcemanager.googleapis.com serviceusage.googleapis.com --project <your-project-id>",
    );
    expect(run.output).not.toContain("again in 15 s");
  },
  ENGINE_TEST_MS,
);
