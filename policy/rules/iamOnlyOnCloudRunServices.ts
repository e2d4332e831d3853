import { resourcePolicy } from "../policyKinds";
import { describeRole, iamResource, isCloudRunIamScope } from "../readers/iam";

/** IAM on these scopes reaches every Cloud Run service below them. */
const BROAD_SCOPES: Record<string, string> = {
  projects: "project",
  folder: "folder",
  organizations: "organization",
};

export const iamOnlyOnCloudRunServices = resourcePolicy(
  "iam-only-on-cloud-run-services",
  "The stack grants roles on Cloud Run services only: never on a project, folder or organization, where a role reaches every service, on a service account, where it lets its members act as the account, or on anything else.",
  (args, reportViolation) => {
    const iam = iamResource(args);
    if (iam === undefined || isCloudRunIamScope(iam.scope)) return;
    const broad = BROAD_SCOPES[iam.scope];
    const where =
      broad !== undefined
        ? `a whole ${broad}, which reaches every Cloud Run service in it`
        : iam.scope === "serviceaccount"
          ? "a service account, letting its members act as or manage that identity"
          : `the ${iam.scope} resource it names`;
    const what = [...new Set(iam.grants.map((grant) => describeRole(grant.role)))].join(", ");
    reportViolation(
      `"${args.name}" grants ${what || "roles"} on ${where}. ` +
        "The stack grants only roles/run.invoker on the one target, with a gcp.cloudrunv2.ServiceIamMember; grant anything else outside the stack, to people, deliberately.",
    );
  },
);
