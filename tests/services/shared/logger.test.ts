import { captureLogs } from "../../helpers/logs";

describe("the log format", () => {
  it("writes one JSON object per line with Cloud Logging's severity and message", () => {
    const logs = captureLogs("svc");
    logs.logger.warn({ detail: 1 }, "something happened");
    logs.logger.fatal("cannot start");
    const [warning, fatal] = logs.entries();
    expect(warning).toMatchObject({
      severity: "WARNING",
      message: "something happened",
      service: "svc",
      detail: 1,
    });
    expect(typeof warning?.time).toBe("string");
    expect(fatal).toMatchObject({ severity: "CRITICAL" });
    expect(warning).not.toHaveProperty("level");
  });

  it("redacts credentials even when code logs them by mistake", () => {
    const logs = captureLogs();
    logs.logger.info(
      {
        token: "t0ken",
        headers: { authorization: "Bearer s3cret", "x-serverless-authorization": "Bearer s3cret2" },
      },
      "oops",
    );
    expect(logs.text()).not.toMatch(/t0ken|s3cret/);
  });
});
