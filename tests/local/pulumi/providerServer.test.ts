import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  changedInputs,
  injectedFault,
  nameOf,
  type Properties,
  UNKNOWN,
} from "../../../local/pulumi/providerServer";

let scratch: string;
let faultsFile: string;
const envBefore = {
  STANDIN_CLOUD: process.env.STANDIN_CLOUD,
  STANDIN_FAULTS: process.env.STANDIN_FAULTS,
};

beforeEach(() => {
  scratch = mkdtempSync(path.join(tmpdir(), "provider-server-"));
  faultsFile = path.join(scratch, "faults.json");
  process.env.STANDIN_CLOUD = path.join(scratch, "cloud.json");
  process.env.STANDIN_FAULTS = faultsFile;
});

afterEach(() => {
  for (const [key, value] of Object.entries(envBefore)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  rmSync(scratch, { recursive: true, force: true });
});

describe("the engine's conventions", () => {
  it("writes an unknown value as the engine's own sentinel string", () => {
    expect(UNKNOWN).toBe("04da6b54-80e4-46f7-96ec-b56ff0331ba9");
  });

  it.each([
    [
      "target-service",
      "urn:pulumi:dev::cloud-run-private-calls::gcp:cloudrunv2/service:Service::target-service",
    ],
    [
      "client-service",
      "urn:pulumi:dev::cloud-run-private-calls::my:app$gcp:cloudrunv2/service:Service::client-service",
    ],
  ])(
    "reads the resource name %s, which faults are matched by, from the end of its URN",
    (name, urn) => {
      expect(nameOf(urn)).toBe(name);
    },
  );
});

describe("which inputs changed", () => {
  const image = {
    containers: [{ image: "repo/target@sha256:1", env: [{ name: "A", value: "1" }] }],
  };

  it.each<[string, Properties, Properties, string[]]>([
    [
      "nothing when the inputs are the same",
      { name: "t", template: image },
      { name: "t", template: image },
      [],
    ],
    [
      "a top-level input whose nested value changed",
      { name: "t", template: image },
      {
        name: "t",
        template: {
          containers: [{ image: "repo/target@sha256:1", env: [{ name: "A", value: "2" }] }],
        },
      },
      ["template"],
    ],
    [
      "an input that was added",
      { name: "t" },
      { name: "t", ingress: "INGRESS_TRAFFIC_ALL" },
      ["ingress"],
    ],
    [
      "an input that was removed",
      { name: "t", ingress: "INGRESS_TRAFFIC_ALL" },
      { name: "t" },
      ["ingress"],
    ],
    [
      "every changed input, sorted",
      { name: "t", location: "a" },
      { name: "u", location: "b" },
      ["location", "name"],
    ],
    [
      "an input that is unknown now",
      { name: "t", image: "repo@sha256:1" },
      { name: "t", image: UNKNOWN },
      ["image"],
    ],
    [
      "an input holding an unknown nested value, even one that was unknown before",
      { name: "t", template: { image: UNKNOWN } },
      { name: "t", template: { image: UNKNOWN } },
      ["template"],
    ],
    [
      "nothing when only the order of keys differs",
      { name: "t", template: { b: 1, a: { y: 2, x: 1 } } },
      { template: { a: { x: 1, y: 2 }, b: 1 }, name: "t" },
      [],
    ],
    [
      "nothing when a nested value is null on one side and missing on the other",
      { name: "t", template: { a: 1, b: null } },
      { name: "t", template: { a: 1 } },
      [],
    ],
    [
      "nothing when a nested value is undefined on one side and missing on the other",
      { name: "t", template: { a: 1 } },
      { name: "t", template: { a: 1, b: undefined } },
      [],
    ],
    [
      "nothing when a top-level input is null on one side and missing on the other",
      { name: "t", description: null },
      { name: "t" },
      [],
    ],
    [
      "nothing when a top-level input is undefined on one side and missing on the other",
      { name: "t" },
      { name: "t", description: undefined },
      [],
    ],
  ])("reports %s", (_what, olds, news, changed) => {
    expect(changedInputs(olds, news)).toEqual(changed);
  });
});

describe("injected faults", () => {
  function inject(faults: object[]) {
    writeFileSync(faultsFile, JSON.stringify(faults));
  }

  it("fails a matching call as many times as the fault says, with its text, then no more", () => {
    inject([
      {
        operation: "create",
        resource: "client-service",
        times: 2,
        error: "googleapi: Error 503: The service is currently unavailable.",
      },
    ]);
    expect(injectedFault("create", "client-service")).toBe(
      "googleapi: Error 503: The service is currently unavailable.",
    );
    expect(injectedFault("create", "client-service")).toBe(
      "googleapi: Error 503: The service is currently unavailable.",
    );
    expect(injectedFault("create", "client-service")).toBeUndefined();
    expect(injectedFault("create", "client-service")).toBeUndefined();
  });

  it("fails only calls of its operation on its resource, and those do not count it down", () => {
    inject([{ operation: "create", resource: "client-service", times: 2, error: "boom" }]);
    expect(injectedFault("update", "client-service")).toBeUndefined();
    expect(injectedFault("delete", "client-service")).toBeUndefined();
    expect(injectedFault("create", "target-service")).toBeUndefined();
    expect(injectedFault("create", "client")).toBeUndefined();
    expect(injectedFault("create", "client-service")).toBe("boom");
    expect(injectedFault("create", "client-service")).toBe("boom");
    expect(injectedFault("create", "client-service")).toBeUndefined();
  });

  it("counts each fault down on its own, in the file that holds them", () => {
    inject([
      { operation: "create", resource: "client-service", times: 1, error: "create failed" },
      { operation: "delete", resource: "target-service", times: 2, error: "delete failed" },
    ]);
    expect(injectedFault("create", "client-service")).toBe("create failed");
    expect(injectedFault("delete", "target-service")).toBe("delete failed");
    const left = JSON.parse(readFileSync(faultsFile, "utf8")) as { times: number }[];
    expect(left.map((fault) => fault.times)).toEqual([0, 1]);
    expect(injectedFault("create", "client-service")).toBeUndefined();
    expect(injectedFault("delete", "target-service")).toBe("delete failed");
    expect(injectedFault("delete", "target-service")).toBeUndefined();
  });

  it("fails nothing when the faults file does not exist", () => {
    expect(injectedFault("create", "client-service")).toBeUndefined();
  });
});
