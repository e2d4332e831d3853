/**
 * The stack: a private **target** service, a **client** service that runs as its own service
 * account, and **one grant** between them: `roles/run.invoker` on the target for the client's
 * account. Nothing else is granted to anyone, and nothing at project level.
 *
 * Read top to bottom: config, APIs, registry, images, the target, the client's account, the
 * client, the grant, the outputs. Pulumi calls the exported function to run the program; tests
 * call the same function under mocks, once per configuration.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import * as time from "@pulumiverse/time";
import { CloudRunService } from "./components/cloudRunService";
import { ContainerImage, imageCleanup } from "./components/containerImage";
import { loadStackConfig } from "./config";
import * as services from "./services/environment";

export = () => {
  const config = loadStackConfig();
  // Ids and e-mails are known before the accounts exist, so the target can name its one caller.
  const accounts = services.serviceAccounts(config.namePrefix, config.project);

  // The APIs the stack calls. Other workloads may rely on them too, so destroying the stack
  // leaves them enabled.
  const apis = ["run", "artifactregistry", "iam"].map(
    (api) =>
      new gcp.projects.Service(`${api}-api`, {
        service: `${api}.googleapis.com`,
        disableOnDestroy: false,
      }),
  );
  // Enabling an API is eventually consistent: resources created right after it can fail with
  // "API has not been used in project … or it is disabled". The Google provider's guide
  // (registry.terraform.io/providers/hashicorp/google/latest/docs/guides/google_project_service,
  // "Newly activated service errors") recommends a time-based wait after enabling; it is created
  // with the APIs, so only the first `pulumi up` waits.
  const apisReady = new time.Sleep("apis-ready", { createDuration: "60s" }, { dependsOn: apis });
  const afterApis = { dependsOn: [apisReady] };

  const registry = new gcp.artifactregistry.Repository(
    "images",
    {
      repositoryId: `${config.namePrefix}-images`,
      location: config.region,
      format: "DOCKER",
      ...imageCleanup(config.imageRetention),
    },
    afterApis,
  );

  // One Dockerfile builds both images; the SERVICE build argument picks the bundle.
  const image = (service: "target" | "client") =>
    new ContainerImage(service, {
      repositoryUrl: registry.registryUri,
      context: ".",
      dockerfile: "services/Dockerfile",
      imageName: service,
      buildArgs: { SERVICE: service },
      buildOnPreview: config.buildOnPreview,
    }).digestReference;

  // What both services share: region, deletion protection, sizes and the health probe's path.
  const { project, region, deletionProtection, scaling, resources } = config;
  const healthPath = services.HEALTH_PATH;
  const runtime = { region, deletionProtection, scaling, resources, healthPath };

  // The audience of the client's tokens, which a verifying target must know when it starts:
  // the custom audience, or the target's deterministic URL, known before the target exists.
  const projectNumber = gcp.organizations.getProjectOutput({ projectId: project }).number;
  const audience =
    config.customAudience ??
    pulumi.interpolate`https://${accounts.target.id}-${projectNumber}.${region}.run.app`;
  const wiring = { projectId: project, targetAuthMode: config.targetAuthMode, audience };

  // The target: private. Cloud Run's front end lets a request in only with a Google-signed ID
  // token whose principal holds roles/run.invoker on it; the app then admits only the client.
  const target = new CloudRunService(
    "target",
    {
      ...runtime,
      serviceName: `${config.namePrefix}-target`,
      serviceAccount: { accountId: accounts.target.id },
      description: "Private target: answers only the client's service account",
      image: image("target"),
      env: services.targetEnvironment({ ...wiring, clientEmail: accounts.client.email }),
      ingress: config.targetIngress,
      customAudiences: config.customAudience === undefined ? undefined : [config.customAudience],
    },
    afterApis,
  );

  // The client's own identity, holding no project role: the one grant below is all it has.
  const clientAccount = new gcp.serviceaccount.Account(
    "client-account",
    { accountId: accounts.client.id, description: "The client's identity: invokes the target" },
    afterApis,
  );

  // The client: public, so `curl` works; it asks its metadata server for an ID token whose
  // audience is the target's URL (or the custom audience) and calls the target with it.
  const client = new CloudRunService(
    "client",
    {
      ...runtime,
      serviceName: `${config.namePrefix}-client`,
      serviceAccount: clientAccount,
      description: "Public client: calls the target with its own identity",
      image: image("client"),
      env: services.clientEnvironment({ ...config, ...wiring, targetUrl: target.uri }),
      ingress: "all",
      publicAccess: config.publicAccess,
      vpcSubnet: config.clientVpcSubnet,
    },
    afterApis,
  );

  // THE GRANT: the client's service account may invoke the target. Non-authoritative (one
  // member added to the target's invoker role), on the target only, never on the project.
  target.grantInvoker("client", clientAccount.member);

  return {
    clientUrl: client.uri,
    targetUrl: target.uri,
    clientServiceAccount: clientAccount.email,
    targetServiceAccount: target.serviceAccount.email,
    commands: pulumi.interpolate`curl ${client.uri}   # 200: the target's answer names ${clientAccount.email} as its caller
curl -i ${target.uri}   # 403 Forbidden: no ID token, and only ${clientAccount.email} may invoke the target`,
  };
};
