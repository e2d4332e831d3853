/**
 * The gcp stand-in's side of the local Cloud Run (./localCloudRun.ts): finds the one running for
 * the stand-ins' folder, or starts it detached so that it outlives the engine run, and asks it
 * to deploy or remove a service.
 */
import { spawn } from "node:child_process";
import { openSync, readFileSync } from "node:fs";
import path from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { type LocalServiceSpec, recordFile } from "./localCloudRunSpec";

interface Record {
  pid: number;
  url: string;
  token: string;
}

export interface RunningLocalService {
  name: string;
  revision: string;
  url: string;
  pid: number;
  serviceAccount: string;
  /** The metadata stand-in of the service's account. */
  metadata: string;
}

function readRecord(home: string): Record | undefined {
  try {
    return JSON.parse(readFileSync(recordFile(home), "utf8")) as Record;
  } catch {
    return undefined;
  }
}

async function call(record: Record, method: string, route: string, body?: unknown) {
  const response = await fetch(`${record.url}${route}`, {
    method,
    headers: { authorization: `Bearer ${record.token}`, "content-type": "application/json" },
    ...(body !== undefined && { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(60_000),
  });
  const answer = (await response.json()) as { error?: string };
  if (!response.ok)
    throw new Error(`the local Cloud Run refused: ${answer.error ?? response.status}`);
  return answer;
}

/** The running local Cloud Run's record, or undefined when none answers. */
async function running(home: string): Promise<Record | undefined> {
  const record = readRecord(home);
  if (record === undefined) return undefined;
  try {
    await call(record, "GET", "/services");
    return record;
  } catch {
    return undefined;
  }
}

/** A start under way in this process: concurrent operations share it, not start two. */
let starting: Promise<Record> | undefined;

/** The local Cloud Run for `home`, started when none runs. */
function ensureRunning(home: string): Promise<Record> {
  starting ??= findOrStart(home).finally(() => (starting = undefined));
  return starting;
}

async function findOrStart(home: string): Promise<Record> {
  const found = await running(home);
  if (found !== undefined) return found;
  const log = openSync(path.join(home, "local-cloud-run.log"), "a");
  const child = spawn(process.execPath, [path.join(__dirname, "local-cloud-run.js"), home], {
    detached: true,
    stdio: ["ignore", log, log],
  });
  child.unref();
  for (let waited = 0; waited < 15_000; waited += 100) {
    await delay(100);
    const started = await running(home);
    if (started !== undefined && started.pid === child.pid) return started;
  }
  throw new Error(
    `the local Cloud Run did not start; see ${path.join(home, "local-cloud-run.log")}`,
  );
}

/** Deploys (or rolls) a service; resolves with its local URL. */
export async function deployLocally(home: string, spec: LocalServiceSpec): Promise<string> {
  const record = await ensureRunning(home);
  const { url } = (await call(record, "PUT", `/services/${spec.name}`, spec)) as { url: string };
  return url;
}

/** Removes a service; the local Cloud Run ends with its last one. */
export async function removeLocally(home: string, name: string): Promise<void> {
  const record = await running(home);
  if (record !== undefined) await call(record, "DELETE", `/services/${name}`);
}

/** What the local Cloud Run runs now; empty when it does not run. */
export async function runningLocally(home: string): Promise<RunningLocalService[]> {
  const record = await running(home);
  if (record === undefined) return [];
  return (await call(record, "GET", "/services")) as unknown as RunningLocalService[];
}
