/**
 * What the stand-in providers keep of "the cloud" between calls and between engine runs: the
 * resources that exist, by a key that is unique in the real cloud (a Cloud Run service's
 * project, region and name). That is what lets a stand-in refuse a second service with a taken
 * name, as Google does with 409. It lives in the JSON file STANDIN_CLOUD names; without it, in
 * memory for one provider process.
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";

type Existing = Record<string, unknown>;

let inMemory: Existing = {};

function load(): Existing {
  const file = process.env.STANDIN_CLOUD;
  if (file === undefined || file === "") return inMemory;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as Existing;
  } catch {
    return {};
  }
}

function save(existing: Existing): void {
  const file = process.env.STANDIN_CLOUD;
  if (file === undefined || file === "") {
    inMemory = existing;
    return;
  }
  writeFileSync(`${file}.tmp`, JSON.stringify(existing, null, 2));
  renameSync(`${file}.tmp`, file);
}

export const cloud = {
  exists(key: string): boolean {
    return key in load();
  },
  get<T>(key: string): T | undefined {
    return load()[key] as T | undefined;
  },
  put(key: string, value: unknown): void {
    save({ ...load(), [key]: value });
  },
  remove(key: string): void {
    const existing = load();
    delete existing[key];
    save(existing);
  },
};
