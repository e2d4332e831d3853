/** Entry point of the target service: configuration from the environment, then listen. */
import { runService } from "../shared/main";
import { targetAppFromConfig } from "./app";
import { readTargetConfig } from "./config";

void runService({
  name: "target",
  readConfig: readTargetConfig,
  createApp: targetAppFromConfig,
  describe: (config) => ({
    authMode: config.authMode,
    allowedInvokers: config.allowedInvokers,
    ...(config.authMode === "verify" && { audiences: config.verify.audiences }),
  }),
});
