import { childTraceparent, traceFromHeaders, traceLogFields } from "../../../services/shared/trace";

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";

describe("trace context", () => {
  it("is read from traceparent", () => {
    expect(traceFromHeaders({ traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01` })).toEqual({
      traceId: TRACE_ID,
      spanId: "00f067aa0ba902b7",
      sampled: true,
    });
  });

  it("falls back to X-Cloud-Trace-Context, converting the decimal span id", () => {
    expect(
      traceFromHeaders({ "x-cloud-trace-context": `${TRACE_ID.toUpperCase()}/123;o=1` }),
    ).toEqual({
      traceId: TRACE_ID,
      spanId: "000000000000007b",
      sampled: true,
    });
  });

  it("prefers traceparent when both are present", () => {
    const other = "a".repeat(32);
    const trace = traceFromHeaders({
      traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-00`,
      "x-cloud-trace-context": `${other}/1;o=1`,
    });
    expect(trace.traceId).toBe(TRACE_ID);
  });

  it("starts a new trace for a request without one, or with a malformed one", () => {
    for (const headers of [
      {},
      { traceparent: "garbage" },
      { traceparent: `00-${"0".repeat(32)}-00f067aa0ba902b7-01` },
    ]) {
      const trace = traceFromHeaders(headers);
      expect(trace.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(trace.traceId).not.toBe("0".repeat(32));
    }
  });

  it("gives every new trace and span its own id, also when the random pool is refilled", () => {
    // Each new trace draws 24 bytes and each child span 8 more: this crosses several refills.
    const ids = new Set<string>();
    for (let i = 0; i < 1000; i += 1) {
      const trace = traceFromHeaders({});
      const child = childTraceparent(trace).split("-")[2]!;
      expect(trace.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(trace.spanId).toMatch(/^[0-9a-f]{16}$/);
      expect(child).toMatch(/^[0-9a-f]{16}$/);
      ids.add(trace.traceId).add(trace.spanId).add(child);
    }
    expect(ids.size).toBe(3000);
  });

  it("passes on the same trace with a new span", () => {
    const trace = traceFromHeaders({ traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01` });
    expect(childTraceparent(trace)).toMatch(
      new RegExp(`^00-${TRACE_ID}-(?!00f067aa0ba902b7)[0-9a-f]{16}-01$`),
    );
  });

  it("becomes Cloud Logging's trace fields, qualified by project when known", () => {
    const trace = { traceId: TRACE_ID, spanId: "00f067aa0ba902b7", sampled: true };
    expect(traceLogFields(trace, "demo")).toEqual({
      "logging.googleapis.com/trace": `projects/demo/traces/${TRACE_ID}`,
      "logging.googleapis.com/spanId": "00f067aa0ba902b7",
      "logging.googleapis.com/trace_sampled": true,
    });
    expect(traceLogFields(trace, undefined)["logging.googleapis.com/trace"]).toBe(TRACE_ID);
  });
});
