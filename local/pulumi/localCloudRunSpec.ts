/**
 * What the gcp stand-in asks the local Cloud Run to run, and where the two meet: the folder of
 * the stand-ins' state (the "cloud"), which holds the pushed images, the record of the running
 * local Cloud Run, and the services' logs.
 */
import { createHash } from "node:crypto";
import path from "node:path";
import type { Ingress } from "../../services/wiring";

/** A Cloud Run service as the local Cloud Run runs it, read from what the program declared. */
export interface LocalServiceSpec {
  /** The Cloud Run service's name, e.g. `s2s-target`. */
  name: string;
  project: string;
  /** The bundle the service's image holds: what runs in place of the image's `server.js`. */
  bundle: string;
  /** The container's args (Node.js flags and `server.js`), as the program set them. */
  args: string[];
  /** The container's environment, as the program set it. */
  env: Record<string, string>;
  /** The account the service runs as: its metadata server mints tokens for it. */
  serviceAccount: string;
  /** The startup probe's path. */
  healthPath: string;
  ingress: Ingress;
  /** Whether all the service's egress leaves through a VPC subnet (Direct VPC egress). */
  vpcEgress: boolean;
  invokerIamDisabled: boolean;
  /** Audiences Cloud Run accepts for the service besides its local URL: its URLs, custom ones. */
  audiences: string[];
  /** The stand-ins' state file, where the service's grants are read at every request. */
  cloudFile: string;
  /** Seconds before a grant reaches the front end, standing in for IAM propagation. */
  grantDelaySeconds: number;
  /** The front end's port to keep, when the service ran before; 0 picks one. */
  port: number;
}

/** The folder of the stand-ins' state: the one holding STANDIN_CLOUD. */
export function standInHome(): string | undefined {
  const file = process.env.STANDIN_CLOUD;
  return file === undefined || file === "" ? undefined : path.dirname(path.resolve(file));
}

/** Where the image with `digest` (`sha256:<hex>`) keeps its bundle. */
export function imageBundle(home: string, digest: string): string {
  return path.join(home, "images", `${digest.replace(/^sha256:/, "")}.js`);
}

/** The record the running local Cloud Run leaves, so that the next engine run finds it. */
export function recordFile(home: string): string {
  return path.join(home, "local-cloud-run.json");
}

/** A short id for a revision of a spec: a new one whenever what runs changes. */
export function revisionOf(spec: LocalServiceSpec): string {
  return createHash("sha256")
    .update(JSON.stringify([spec.bundle, spec.args, spec.env, spec.serviceAccount]))
    .digest("hex")
    .slice(0, 6);
}
