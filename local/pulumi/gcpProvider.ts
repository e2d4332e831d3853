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
 *   STANDIN_CLOUD_RUN=local  run each Cloud Run service on this machine (./localCloudRun.ts) from
 *                            its image's bundle; its `uri` is then its local front end's URL
 *   STANDIN_GRANT_DELAY_SECONDS  how long a new grant takes to reach the local front ends
 */
import { createHash, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { NODE_FLAGS } from "../../services/nodeCommand";
import { serviceAccountEmail } from "../../services/wiring";
import { cloud } from "./cloudState";
import { deployLocally, removeLocally, runningLocally } from "./localCloudRunControl";
import { imageBundle, type LocalServiceSpec, standInHome } from "./localCloudRunSpec";
import { GCP_VERSION } from "./versions";
import {
  type OperationContext,
  type Properties,
  serveProvider,
  type StandInResource,
  UNKNOWN,
} from "./providerServer";

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

/** Google's e-mail for the account, domain-scoped projects included (tests/stack pins the rule). */
function email(inputs: Properties, context: OperationContext): string {
  return serviceAccountEmail(text(inputs, "accountId"), project(inputs, context));
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

/** The container of a Cloud Run service's template, as the program declares it. */
interface DeclaredContainer {
  image?: string;
  args?: string[];
  envs?: { name: string; value?: string }[];
  startupProbe?: { httpGet?: { path?: string } };
}

interface DeclaredTemplate {
  serviceAccount?: string;
  vpcAccess?: { egress?: string; networkInterfaces?: unknown[] };
  containers?: DeclaredContainer[];
}

/** Whether Cloud Run services run on this machine (STANDIN_CLOUD_RUN=local). */
function runsLocally(context: OperationContext): string | undefined {
  if (context.preview || process.env.STANDIN_CLOUD_RUN !== "local") return undefined;
  const home = standInHome();
  if (home === undefined) throw new Error("the local Cloud Run needs STANDIN_CLOUD");
  return home;
}

/** What the local Cloud Run must run for a service declared with `inputs`. */
function localSpec(
  home: string,
  inputs: Properties,
  outputs: Properties,
  context: OperationContext,
  previousUri: unknown,
): LocalServiceSpec {
  const template = (inputs.template ?? {}) as DeclaredTemplate;
  const container = template.containers?.[0] ?? {};
  const image = container.image ?? "";
  const digest = image.split("@")[1];
  const bundle = digest === undefined ? undefined : imageBundle(home, digest);
  if (bundle === undefined || !existsSync(bundle)) {
    throw new Error(
      `Error waiting to create Service: Image '${image}' not found: push it before deploying.`,
    );
  }
  const p = project(inputs, context);
  const urls = (outputs.urls ?? []) as string[];
  const customAudiences = (inputs.customAudiences ?? []) as string[];
  // A service keeps its local URL across revisions, as a Cloud Run service keeps its URL.
  const previous = typeof previousUri === "string" ? /:(\d+)$/.exec(previousUri)?.[1] : undefined;
  return {
    name: text(inputs, "name"),
    project: p,
    bundle,
    // Without args, the image's CMD runs: its Node.js flags and server.js.
    args: container.args ?? [...NODE_FLAGS, "server.js"],
    env: Object.fromEntries((container.envs ?? []).map(({ name, value }) => [name, value ?? ""])),
    // Without an account of its own, a service runs as the project's default compute account.
    serviceAccount:
      template.serviceAccount ?? `${projectNumber(p)}-compute@developer.gserviceaccount.com`,
    healthPath: container.startupProbe?.httpGet?.path ?? "/",
    ingress: inputs.ingress === "INGRESS_TRAFFIC_INTERNAL_ONLY" ? "internal" : "all",
    vpcEgress:
      (template.vpcAccess?.networkInterfaces?.length ?? 0) > 0 &&
      template.vpcAccess?.egress === "ALL_TRAFFIC",
    invokerIamDisabled: inputs.invokerIamDisabled === true,
    // Cloud Run accepts its URLs, with or without a trailing slash, and its custom audiences.
    audiences: [...urls.flatMap((url) => [url, `${url}/`]), ...customAudiences],
    cloudFile: process.env.STANDIN_CLOUD!,
    grantDelaySeconds: Number(process.env.STANDIN_GRANT_DELAY_SECONDS ?? "0"),
    port: previous === undefined ? 0 : Number(previous),
  };
}

/** The outputs, with `uri` where the local Cloud Run serves the service when it runs one. */
async function deployed(
  inputs: Properties,
  outputs: Properties,
  context: OperationContext,
  previousUri: unknown = outputs.uri,
): Promise<Properties> {
  const home = runsLocally(context);
  if (home === undefined) return outputs;
  const uri = await deployLocally(home, localSpec(home, inputs, outputs, context, previousUri));
  return { ...outputs, uri };
}

const cloudRunService: StandInResource = {
  replaceOnChanges: ["project", "location", "name"],
  async create(inputs, context) {
    const id = serviceKey(inputs, context);
    if (!context.preview && cloud.exists(id)) {
      throw new Error(
        `Error creating Service: googleapi: Error 409: Resource '${text(inputs, "name")}' already exists.`,
      );
    }
    const described = {
      ...inputs,
      ...computed(context, serviceOutputs(inputs, context, randomUUID(), 1), inputs),
    };
    const outputs = await deployed(inputs, described, context);
    if (!context.preview) cloud.put(id, outputs);
    return { id, outputs };
  },
  async update(id, olds, news, context) {
    const generation = Number(olds.generation ?? "1") + 1;
    const uid = typeof olds.uid === "string" ? olds.uid : randomUUID();
    const described = {
      ...news,
      ...computed(context, serviceOutputs(news, context, uid, generation), news),
    };
    const outputs = await deployed(news, described, context, olds.uri);
    if (!context.preview) cloud.put(id, outputs);
    return outputs;
  },
  async delete(id, outputs, context) {
    // The provider reads the flag from the state, as the real one does: setting it to false
    // takes a `pulumi up` first. Unset counts as true, the provider's default.
    if ((outputs as StoredService).deletionProtection !== false) {
      throw new Error(
        "cannot destroy service without setting deletion_protection=false and running `terraform apply`",
      );
    }
    const home = runsLocally(context);
    if (home !== undefined) await removeLocally(home, text(outputs, "name"));
    cloud.remove(id);
  },
  // A refresh finds a service whose local process is gone (the machine restarted, say) and
  // starts it again where it was.
  async read(_id, outputs, context) {
    const home = runsLocally(context);
    if (home === undefined) return outputs;
    const name = text(outputs, "name");
    if ((await runningLocally(home)).some((service) => service.name === name)) return outputs;
    return deployed(outputs, outputs, context);
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
    // When the grant was made: the local Cloud Run's front end admits its member only once
    // STANDIN_GRANT_DELAY_SECONDS have passed since, standing in for IAM propagation.
    const outputs = {
      ...inputs,
      project: project(inputs, context),
      ...computed(context, { etag: `BwY${randomUUID().slice(0, 8)}` }, inputs),
    };
    if (!context.preview) cloud.put(id, { ...outputs, createdAt: Date.now() });
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
