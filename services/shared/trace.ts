/**
 * Trace context: read from an incoming request, passed on to outgoing calls, and turned into
 * the fields Cloud Logging uses to group a request's log lines under its trace.
 */
import { randomFillSync } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";

export interface TraceContext {
  /** 32 lowercase hex digits. */
  traceId: string;
  /** 16 lowercase hex digits: the span of the current request. */
  spanId: string;
  sampled: boolean;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const CLOUD_TRACE = /^([0-9a-fA-F]{32})(?:\/(\d{1,20}))?(?:;o=([01]))?$/;
const ALL_ZERO = /^0+$/;

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return (Array.isArray(value) ? value[0] : value)?.trim();
}

/**
 * Random bytes for new ids come from a pool refilled a few kilobytes at a time, not from a call
 * into the system per id: every request makes new ids, on the hot path, and ids need
 * randomness, not a fresh draw each.
 */
const randomPool = Buffer.alloc(4096);
let poolOffset = randomPool.length;

function randomHex(bytes: number): string {
  if (poolOffset + bytes > randomPool.length) {
    randomFillSync(randomPool);
    poolOffset = 0;
  }
  poolOffset += bytes;
  return randomPool.toString("hex", poolOffset - bytes, poolOffset);
}

function newSpanId(): string {
  return randomHex(8);
}

/**
 * The W3C `traceparent` header wins; Cloud Run's older `X-Cloud-Trace-Context` is the fallback.
 * A request that carries neither starts a new trace, so the client's and the target's lines
 * still correlate.
 */
export function traceFromHeaders(headers: IncomingHttpHeaders): TraceContext {
  const parent = TRACEPARENT.exec(header(headers, "traceparent") ?? "");
  if (parent && !ALL_ZERO.test(parent[1]!) && !ALL_ZERO.test(parent[2]!)) {
    return {
      traceId: parent[1]!,
      spanId: parent[2]!,
      sampled: (parseInt(parent[3]!, 16) & 1) === 1,
    };
  }
  const cloud = CLOUD_TRACE.exec(header(headers, "x-cloud-trace-context") ?? "");
  if (cloud && !ALL_ZERO.test(cloud[1]!)) {
    const span = cloud[2] ? BigInt(cloud[2]) : 0n;
    return {
      traceId: cloud[1]!.toLowerCase(),
      spanId: span > 0n && span < 2n ** 64n ? span.toString(16).padStart(16, "0") : newSpanId(),
      sampled: cloud[3] === "1",
    };
  }
  return { traceId: randomHex(16), spanId: newSpanId(), sampled: false };
}

/** The `traceparent` for an outgoing call: same trace, a new child span. */
export function childTraceparent(trace: TraceContext): string {
  return `00-${trace.traceId}-${newSpanId()}-${trace.sampled ? "01" : "00"}`;
}

/** Cloud Logging's special fields that tie a log line to its trace. */
export function traceLogFields(
  trace: TraceContext,
  projectId: string | undefined,
): Record<string, string | boolean> {
  return {
    "logging.googleapis.com/trace": projectId
      ? `projects/${projectId}/traces/${trace.traceId}`
      : trace.traceId,
    "logging.googleapis.com/spanId": trace.spanId,
    "logging.googleapis.com/trace_sampled": trace.sampled,
  };
}
