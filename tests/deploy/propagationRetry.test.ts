/**
 * The error hook's decision, against the error texts the Google provider really returns: the
 * Google APIs' messages as googleapi formats them, with the prefix the provider puts before
 * them. Only propagation is retried, for a bounded time; everything else fails at once.
 */
import { retryDecision } from "../../deploy/propagationRetry";

/** googleapi's rendering of a 403 from an API that is not (yet) enabled, as the provider returns it. */
function apiDisabled(verb: string, title: string, service: string): string {
  return `${verb}: googleapi: Error 403: ${title} has not been used in project 123456789012 before or it is disabled. Enable it by visiting https://console.developers.google.com/apis/api/${service}/overview?project=123456789012 then retry. If you enabled this API recently, wait a few minutes for the action to propagate to our systems and retry.
Details:
[
  {
    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
    "domain": "googleapis.com",
    "metadata": {
      "consumer": "projects/123456789012",
      "service": "${service}"
    },
    "reason": "SERVICE_DISABLED"
  }
]
, accessNotConfigured`;
}

const RUN_DISABLED = apiDisabled(
  "Error creating Service",
  "Cloud Run Admin API",
  "run.googleapis.com",
);
const REGISTRY_DISABLED = apiDisabled(
  "Error creating Repository",
  "Artifact Registry API",
  "artifactregistry.googleapis.com",
);
const IAM_DISABLED = apiDisabled(
  "Error creating service account",
  "Identity and Access Management (IAM) API",
  "iam.googleapis.com",
);
const CRM_DISABLED =
  "Error when reading or editing Project Service s2s-demo/run.googleapis.com: googleapi: Error 403: Cloud Resource Manager API has not been used in project 123456789012 before or it is disabled. Enable it by visiting https://console.developers.google.com/apis/api/cloudresourcemanager.googleapis.com/overview?project=123456789012 then retry. If you enabled this API recently, wait a few minutes for the action to propagate to our systems and retry., accessNotConfigured";
const COMPUTE_DISABLED = apiDisabled(
  "Error creating Service",
  "Compute Engine API",
  "compute.googleapis.com",
);
const ACCOUNT_UNKNOWN_TO_IAM =
  'Error applying IAM policy for cloudrunv2 service "projects/s2s-demo/locations/europe-west1/services/s2s-target": Error setting IAM policy for cloudrunv2 service "projects/s2s-demo/locations/europe-west1/services/s2s-target": googleapi: Error 400: Service account s2s-client@s2s-demo.iam.gserviceaccount.com does not exist., badRequest';
const ACCOUNT_UNKNOWN_QUOTED =
  'googleapi: Error 400: Service account "s2s-client@s2s-demo.iam.gserviceaccount.com" does not exist., badRequest';
const ACCOUNT_NOT_VISIBLE =
  "Error reading Service Account \"projects/s2s-demo/serviceAccounts/s2s-client@s2s-demo.iam.gserviceaccount.com\": googleapi: Error 403: Permission 'iam.serviceAccounts.get' denied on resource (or it may not exist)., forbidden";
const ACT_AS_DENIED =
  "Error creating Service: googleapi: Error 403: Permission 'iam.serviceaccounts.actAs' denied on service account s2s-target@s2s-demo.iam.gserviceaccount.com (or it may not exist).";

describe("an error hook's retry decision", () => {
  test.each([
    ["run", RUN_DISABLED],
    ["artifactregistry", REGISTRY_DISABLED],
    ["iam", IAM_DISABLED],
  ])(
    "retries a create that met the %s API, which the stack enables, before it took effect",
    (api, error) => {
      expect(retryDecision("create", [error])).toEqual({
        retry: true,
        waitingFor: `${api}.googleapis.com, enabled by this stack, to take effect`,
        attempt: 1,
        maxAttempts: 20,
      });
    },
  );

  test("retries an IAM grant naming an account IAM does not know yet, and names the account", () => {
    for (const error of [ACCOUNT_UNKNOWN_TO_IAM, ACCOUNT_UNKNOWN_QUOTED]) {
      expect(retryDecision("create", [error])).toMatchObject({
        retry: true,
        waitingFor: "service account s2s-client@s2s-demo.iam.gserviceaccount.com to reach IAM",
      });
    }
  });

  test("retries a read of an account IAM answers 403 for while it propagates", () => {
    expect(retryDecision("create", [ACCOUNT_NOT_VISIBLE])).toMatchObject({
      retry: true,
      waitingFor: "a service account created moments ago to reach IAM",
    });
  });

  test("retries a Cloud Run service whose new account it cannot act as yet, saying what a lasting failure means", () => {
    const decision = retryDecision("update", [ACT_AS_DENIED]);
    expect(decision).toMatchObject({ retry: true });
    expect(decision.retry && decision.waitingFor).toBe(
      "service account s2s-target@s2s-demo.iam.gserviceaccount.com to reach Cloud Run (if this persists, you lack roles/iam.serviceAccountUser on it)",
    );
  });

  test("does not retry when Cloud Resource Manager is off, and says how to enable it", () => {
    expect(retryDecision("create", [CRM_DISABLED])).toEqual({
      retry: false,
      advice:
        "cloudresourcemanager.googleapis.com is off in the project, and the stack cannot enable it. Enable both APIs the stack needs first: gcloud services enable cloudresourcemanager.googleapis.com serviceusage.googleapis.com --project <your-project-id>",
    });
  });

  test("does not retry an API the stack does not enable: waiting would not turn it on", () => {
    expect(retryDecision("create", [COMPUTE_DISABLED])).toEqual({ retry: false });
  });

  test.each([
    [
      "a 409 conflict",
      "Error creating Service: googleapi: Error 409: Resource 's2s-target' already exists., alreadyExists",
    ],
    [
      "a missing permission",
      "Error creating Repository: googleapi: Error 403: Permission 'artifactregistry.repositories.create' denied on resource '//artifactregistry.googleapis.com/projects/s2s-demo/locations/europe-west1' (or it may not exist)., forbidden",
    ],
    [
      "an organization policy",
      "Error creating Service: googleapi: Error 400: Location europe-west1 violates constraint constraints/gcp.resourceLocations on the resource projects/s2s-demo/locations/europe-west1/services/s2s-target., badRequest",
    ],
    [
      "a revision that did not start",
      "Error waiting to create Service: Error waiting for Creating Service: Error code 9, message: Revision 's2s-target-00001-abc' is not ready and cannot serve traffic. The user-provided container failed the configured startup probe checks.",
    ],
    [
      "a near miss of the IAM text",
      "googleapi: Error 400: Service account name s2s-client is invalid., badRequest",
    ],
  ])("fails at once on %s", (_, error) => {
    expect(retryDecision("create", [error])).toEqual({ retry: false });
  });

  test("does not retry a failed delete, even of an account IAM does not know", () => {
    expect(retryDecision("delete", [ACCOUNT_UNKNOWN_TO_IAM])).toEqual({ retry: false });
  });

  test("decides on the newest error: a propagation error followed by another error fails", () => {
    expect(retryDecision("create", ["googleapi: Error 400: bad request", RUN_DISABLED])).toEqual({
      retry: false,
    });
  });

  test("retries for 5 minutes, 20 times at 15 s, then gives up and says so", () => {
    const twenty = Array.from({ length: 20 }, () => RUN_DISABLED);
    expect(retryDecision("create", twenty)).toMatchObject({ retry: true, attempt: 20 });
    expect(retryDecision("create", [...twenty, RUN_DISABLED])).toEqual({
      retry: false,
      advice:
        "still waiting for run.googleapis.com, enabled by this stack, to take effect after 300 s; run pulumi up again in a few minutes",
    });
  });

  test("does not retry when the engine reports no error", () => {
    expect(retryDecision("create", [])).toEqual({ retry: false });
  });
});
