/** Small measuring helpers shared by the benchmark's phases: statistics and /proc readings. */
import { readdirSync, readFileSync } from "node:fs";

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function round(value: number, digits = 1): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

function statusKiB(pid: number, field: "VmRSS" | "VmHWM"): number {
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(
    readFileSync(`/proc/${pid}/status`, "utf8"),
  );
  if (!match) throw new Error(`/proc/${pid}/status has no ${field}`);
  return Number(match[1]);
}

/** What a process holds in memory now, in MiB (VmRSS). */
export function residentMiB(pid: number): number {
  return statusKiB(pid, "VmRSS") / 1024;
}

/** The most a process has held in memory since it started, in MiB (VmHWM, kept by the kernel). */
export function peakResidentMiB(pid: number): number {
  return statusKiB(pid, "VmHWM") / 1024;
}

/**
 * CPU time a process has used so far, in microseconds, over all its threads (V8's garbage
 * collection and compilation helpers and libuv's pool included), to the nanosecond.
 */
export function cpuMicroseconds(pid: number): number {
  let nanoseconds = 0;
  for (const thread of readdirSync(`/proc/${pid}/task`)) {
    try {
      nanoseconds += Number(
        readFileSync(`/proc/${pid}/task/${thread}/schedstat`, "utf8").split(" ")[0],
      );
    } catch {
      // The thread ended between listing and reading.
    }
  }
  return nanoseconds / 1000;
}
