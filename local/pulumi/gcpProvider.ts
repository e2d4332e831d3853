/**
 * A stand-in for the `gcp` provider (pulumi-gcp 9.37.0), as a plugin the real Pulumi engine
 * starts: the resource types and functions this stack uses, with the real provider's
 * replacement rules (ForceNew in its schema), outputs shaped like the real ones, and the
 * refusals the stack must survive (a Cloud Run service under deletion protection, a taken
 * service name). Nothing reaches Google.
 *
 *   STANDIN_CLOUD            the JSON file that holds what exists (./cloudState.ts)
 *   STANDIN_CLOUD_RUN_URLS   `{"<service name>": "http://127.0.0.1:PORT"}`: the `uri` a Cloud Run
 *                            service reports, so that hooks can reach services running locally;
 *                            otherwise its deterministic https://<name>-<number>.<region>.run.app
 *   STANDIN_FAULTS           errors to inject (./providerServer.ts)
 */
import { createHash, randomUUID } from "node:crypto";
import { cloud } from "./cloudState";
import {
  type OperationContext,
  type Properties,
  serveProvider,
  type StandInResource,
  UNKNOWN,
} from "./providerServer";

export const GCP_VERSION = "9.37.0";

/** A stable 12-digit project number for a project id, as Google assigns one per project. */
export function projectNumber(projectId: string): string {
  const digest = createHash("sha256").update(projectId).digest();
  return String(100_000_000_000 + (digest.readUInt32BE(0) % 900_000_000_000));
}

function project(inputs: Properties, context: OperationContext): string {
  const value = inputs.project ?? context.config.project;
  if (typeof value !== "string" || value === "") {
    throw new Error("project: required field is not set");
  }
  return value;
}

function text(inputs: Properties, key: string): string {
  const value = inputs[key];
  return typeof value === "string" ? value : "";
}

/** In a preview, the outputs Google decides are not known yet; those the inputs set are. */
function computed(context: OperationContext, outputs: Properties, inputs: Properties): Properties {
  if (!context.preview) return outputs;
  return Object.fromEntries(
    Object.keys(outputs).map((key) => [key, key in inputs ? inputs[key] : UNKNOWN]),
  );
}

function localUrls(): Record<string, string> {
  try {
    return JSON.parse(process.env.STANDIN_CLOUD_RUN_URLS ?? "{}") as Record<string, string>;
  } catch {
    return {};
  }
}

/** A resource that exists once per key, with the outputs `describe` gives it. */
function simpleResource(
  replaceOnChanges: readonly string[],
  key: (inputs: Properties, context: OperationContext) => string,
  describe: (inputs: Properties, context: OperationContext) => Properties,
): StandInResource {
  return {
    replaceOnChanges,
    create(inputs, context) {
      const id = key(inputs, context);
      const outputs = { ...inputs, ...computed(context, describe(inputs, context), inputs) };
      if (!context.preview) cloud.put(id, outputs);
      return { id, outputs };
    },
    update(id, _olds, news, context) {
      const outputs = { ...news, ...computed(context, describe(news, context), news) };
      if (!context.preview) cloud.put(id, outputs);
      return outputs;
    },
    delete(id) {
      cloud.remove(id);
    },
  };
}

const apiService: StandInResource = {
  ...simpleResource(
    ["project", "service"],
    (inputs, context) => `${project(inputs, context)}/${text(inputs, "service")}`,
    (inputs, context) => ({ project: project(inputs, context) }),
  ),
  // Destroying the resource disables the API only when disableOnDestroy says so (default true).
  delete(id, outputs) {
    if (outputs.disableOnDestroy !== false) cloud.remove(id);
  },
};

const repository = simpleResource(
  ["project", "location", "repositoryId", "format", "mode", "kmsKeyName"],
  (inputs, context) =>
    `projects/${project(inputs, context)}/locations/${text(inputs, "location")}/repositories/${text(inputs, "repositoryId")}`,
  (inputs, context) => {
    const p = project(inputs, context);
    const location = text(inputs, "location");
    const id = text(inputs, "repositoryId");
    return {
      project: p,
      name: id,
      registryUri: `${location}-docker.pkg.dev/${p}/${id}`,
      createTime: new Date().toISOString(),
    };
  },
);

const account = simpleResource(
  ["project", "accountId"],
  (inputs, context) =>
    `projects/${project(inputs, context)}/serviceAccounts/${email(inputs, context)}`,
  (inputs, context) => {
    const address = email(inputs, context);
    return {
      project: project(inputs, context),
      email: address,
      member: `serviceAccount:${address}`,
      name: `projects/${project(inputs, context)}/serviceAccounts/${address}`,
      uniqueId: projectNumber(address) + "0000000",
    };
  },
);

function email(inputs: Properties, context: OperationContext): string {
  return `${text(inputs, "accountId")}@${project(inputs, context)}.iam.gserviceaccount.com`;
}

interface StoredService {
  deletionProtection?: boolean;
}

function serviceKey(inputs: Properties, context: OperationContext): string {
  return `projects/${project(inputs, context)}/locations/${text(inputs, "location")}/services/${text(inputs, "name")}`;
}

/** The outputs Cloud Run gives a service at `generation`, with its URLs. */
function serviceOutputs(
  inputs: Properties,
  context: OperationContext,
  uid: string,
  generation: number,
): Properties {
  const p = project(inputs, context);
  const name = text(inputs, "name");
  const region = text(inputs, "location");
  const deterministic = `https://${name}-${projectNumber(p)}.${region}.run.app`;
  // The hash-style URL ends in a code made of the region's words' initials: `ew` for europe-west1.
  const regionCode = region
    .replace(/\d+$/, "")
    .split("-")
    .map((word) => word[0])
    .join("");
  const hashStyle = `https://${name}-${uid.slice(0, 10).replace(/-/g, "")}-${regionCode}.a.run.app`;
  const revision = `${name}-${String(generation).padStart(5, "0")}-${uid.slice(0, 3)}`;
  return {
    project: p,
    uid,
    generation: String(generation),
    etag: `"${uid.slice(0, 8)}/${generation}"`,
    uri: localUrls()[name] ?? deterministic,
    urls: [deterministic, hashStyle],
    latestCreatedRevision: revision,
    latestReadyRevision: revision,
    terminalConditions: [{ type: "Ready", state: "CONDITION_SUCCEEDED" }],
  };
}

const cloudRunService: StandInResource = {
  replaceOnChanges: ["project", "location", "name"],
  create(inputs, context) {
    const id = serviceKey(inputs, context);
    if (!context.preview && cloud.exists(id)) {
      throw new Error(
        `Error creating Service: googleapi: Error 409: Resource '${text(inputs, "name")}' already exists.`,
      );
    }
    const outputs = {
      ...inputs,
      ...computed(context, serviceOutputs(inputs, context, randomUUID(), 1), inputs),
    };
    if (!context.preview) cloud.put(id, outputs);
    return { id, outputs };
  },
  update(id, olds, news, context) {
    const generation = Number(olds.generation ?? "1") + 1;
    const uid = typeof olds.uid === "string" ? olds.uid : randomUUID();
    const outputs = {
      ...news,
      ...computed(context, serviceOutputs(news, context, uid, generation), news),
    };
    if (!context.preview) cloud.put(id, outputs);
    return outputs;
  },
  delete(id, outputs) {
    // The provider reads the flag from the state, as the real one does: setting it to false
    // takes a `pulumi up` first. Unset counts as true, the provider's default.
    if ((outputs as StoredService).deletionProtection !== false) {
      throw new Error(
        "cannot destroy service without setting deletion_protection=false and running `terraform apply`",
      );
    }
    cloud.remove(id);
  },
};

const serviceIamMember: StandInResource = {
  replaceOnChanges: ["project", "location", "name", "role", "member", "condition"],
  create(inputs, context) {
    const service = `projects/${project(inputs, context)}/locations/${text(inputs, "location")}/services/${text(inputs, "name")}`;
    if (!context.preview && !cloud.exists(service)) {
      throw new Error(
        `Error retrieving IAM policy for cloudrunv2 service "${service}": googleapi: Error 404: Resource '${text(inputs, "name")}' of kind 'SERVICE' in region '${text(inputs, "location")}' in project '${project(inputs, context)}' does not exist.`,
      );
    }
    const id = `${service} ${text(inputs, "role")} ${text(inputs, "member")}`;
    const outputs = {
      ...inputs,
      project: project(inputs, context),
      ...computed(context, { etag: `BwY${randomUUID().slice(0, 8)}` }, inputs),
    };
    if (!context.preview) cloud.put(id, outputs);
    return { id, outputs };
  },
  update(_id, olds, news) {
    return { ...olds, ...news };
  },
  delete(id) {
    cloud.remove(id);
  },
};

export const gcpStandIn = {
  version: GCP_VERSION,
  resources: {
    "gcp:projects/service:Service": apiService,
    "gcp:artifactregistry/repository:Repository": repository,
    "gcp:serviceaccount/account:Account": account,
    "gcp:cloudrunv2/service:Service": cloudRunService,
    "gcp:cloudrunv2/serviceIamMember:ServiceIamMember": serviceIamMember,
  },
  functions: {
    "gcp:organizations/getProject:getProject": (args: Properties, context: OperationContext) => {
      const id = text(args, "projectId") || context.config.project || "";
      if (id === "") throw new Error("project: required field is not set");
      return { projectId: id, number: projectNumber(id), name: id, id: `projects/${id}` };
    },
    "gcp:organizations/getClientConfig:getClientConfig": (
      _args: Properties,
      context: OperationContext,
    ) => ({
      accessToken: "stand-in-access-token-not-for-google",
      project: context.config.project ?? "",
      region: context.config.region ?? "",
      zone: context.config.zone ?? "",
      id: "stand-in",
    }),
  },
};

if (require.main === module) void serveProvider(gcpStandIn);
