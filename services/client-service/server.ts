/** Entry point of the client service: configuration from the environment, then listen. */
import { runService } from "../shared/main";
import { clientAppFromConfig } from "./app";
import { readClientConfig } from "./config";

void runService({
  name: "client",
  readConfig: readClientConfig,
  createApp: clientAppFromConfig,
  describe: (config) => ({
    targetUrl: config.targetUrl.href,
    audience: config.audience,
    tokenHeader: config.tokenHeader,
  }),
});
