/**
 * A minimal Node.js language host, `pulumi-language-nodejs`, for a Pulumi CLI that has none (one
 * built from the Go module proxy, which does not serve Pulumi's own host). It runs a program the
 * way Pulumi's host does, with `@pulumi/pulumi`'s own `cmd/run` from the program's node_modules,
 * and a Node.js policy pack with `cmd/run-policy-pack` (Pulumi 3.276 starts policy packs through
 * the language host's RunPlugin).
 *
 * What it leaves out, because the engine tier needs none of it: installing dependencies (run
 * `npm ci` first), code generation, `pulumi new` templates, packing, debugging, and plugins
 * other than policy packs.
 */
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import type * as grpc from "@grpc/grpc-js";
import * as languageRpc from "@pulumi/pulumi/proto/language_grpc_pb";
import * as language from "@pulumi/pulumi/proto/language_pb";
import * as plugin from "@pulumi/pulumi/proto/plugin_pb";
import { engineAddressFrom, servePlugin, unary } from "./plugin";

/** The exit code of `cmd/run` after it has shown the user an error of the program's own. */
const EXITED_AFTER_LOGGING_ERROR = 32;

/** The file of `@pulumi/pulumi` that `directory`'s program resolves, e.g. `cmd/run`. */
function sdkFile(directory: string, file: string): string {
  return createRequire(path.join(directory, "package.json")).resolve(`@pulumi/pulumi/${file}`);
}

/** The program's runtime options from Pulumi.yaml (`runtime.options`), as plain values. */
function runtimeOptions(info: language.ProgramInfo | undefined): Record<string, unknown> {
  return (info?.getOptions()?.toJavaScript() ?? {}) as Record<string, unknown>;
}

/**
 * The resource plugins the program's packages ask for: every package under node_modules/@pulumi
 * whose package.json says `"pulumi": { "resource": true }`, at its own version.
 */
function requiredPackages(programDirectory: string): plugin.PackageDependency[] {
  const scope = path.join(programDirectory, "node_modules", "@pulumi");
  let names: string[];
  try {
    names = readdirSync(scope);
  } catch {
    return [];
  }
  const packages: plugin.PackageDependency[] = [];
  for (const name of names) {
    try {
      const manifest = JSON.parse(readFileSync(path.join(scope, name, "package.json"), "utf8")) as {
        version?: string;
        pulumi?: { resource?: boolean; name?: string };
      };
      if (manifest.pulumi?.resource !== true || manifest.version === undefined) continue;
      packages.push(
        new plugin.PackageDependency()
          .setName(manifest.pulumi.name ?? name)
          .setKind("resource")
          .setVersion(`v${manifest.version}`),
      );
    } catch {
      // A folder without a readable package.json is no package.
    }
  }
  return packages;
}

/** The command line of `cmd/run` for one run of the program, as Pulumi's own host builds it. */
function runArguments(request: language.RunRequest, engineAddress: string | undefined): string[] {
  const info = request.getInfo();
  const programDirectory = info?.getProgramDirectory() || request.getPwd();
  const flags: [string, string | undefined][] = [
    ["monitor", request.getMonitorAddress()],
    ["engine", engineAddress],
    ["organization", request.getOrganization()],
    ["project", request.getProject()],
    ["stack", request.getStack()],
    ["pwd", request.getPwd()],
    ["root-directory", info?.getRootDirectory()],
    ["parallel", String(request.getParallel())],
  ];
  const args = [sdkFile(programDirectory, "cmd/run")];
  for (const [flag, value] of flags) if (value) args.push(`--${flag}`, value);
  if (request.getDryrun()) args.push("--dry-run");
  args.push(info?.getEntryPoint() || request.getProgram() || ".", ...request.getArgsList());
  return args;
}

/** The environment `cmd/run` reads the stack's configuration and TypeScript settings from. */
function runEnvironment(request: language.RunRequest): NodeJS.ProcessEnv {
  const options = runtimeOptions(request.getInfo());
  const config = Object.fromEntries(request.getConfigMap().toArray());
  return {
    ...process.env,
    PULUMI_CONFIG: JSON.stringify(config),
    PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(request.getConfigsecretkeysList()),
    PULUMI_NODEJS_TYPESCRIPT: String(options.typescript !== false),
    ...(typeof options.tsconfig === "string"
      ? { PULUMI_NODEJS_TSCONFIG_PATH: options.tsconfig }
      : {}),
  };
}

function startHost(engineAddress: string | undefined) {
  const implementation: Partial<languageRpc.ILanguageRuntimeServer> = {
    handshake: unary(() => new language.LanguageHandshakeResponse()),
    getPluginInfo: unary(() => new plugin.PluginInfo().setVersion("3.276.0")),
    getRequiredPackages: unary((request: language.GetRequiredPackagesRequest) =>
      new language.GetRequiredPackagesResponse().setPackagesList(
        requiredPackages(request.getInfo()?.getProgramDirectory() ?? process.cwd()),
      ),
    ),
    getRequiredPlugins: unary((request: language.GetRequiredPluginsRequest) =>
      new language.GetRequiredPluginsResponse().setPluginsList(
        requiredPackages(request.getInfo()?.getProgramDirectory() ?? request.getPwd()).map((pkg) =>
          new plugin.PluginDependency()
            .setName(pkg.getName())
            .setKind(pkg.getKind())
            .setVersion(pkg.getVersion()),
        ),
      ),
    ),
    getProgramDependencies: unary(() => new language.GetProgramDependenciesResponse()),
    installDependencies: (call) => {
      // Dependencies come from `npm ci` at the repository's root; nothing to install here.
      call.end();
    },
    run: unary(
      (request: language.RunRequest) =>
        new Promise<language.RunResponse>((resolve) => {
          const child = spawn(process.execPath, runArguments(request, engineAddress), {
            cwd: request.getPwd() || process.cwd(),
            env: runEnvironment(request),
            stdio: ["ignore", "inherit", "inherit"],
          });
          const response = new language.RunResponse();
          child.on("error", (error) =>
            resolve(response.setError(`could not start the program: ${error.message}`)),
          );
          child.on("exit", (code, signal) => {
            if (code === 0) resolve(response);
            else if (code === EXITED_AFTER_LOGGING_ERROR) resolve(response.setBail(true));
            else
              resolve(
                response.setError(
                  `Program exited with non-zero exit code: ${code ?? `signal ${signal}`}`,
                ),
              );
          });
        }),
    ),
    runPlugin: (
      call: grpc.ServerWritableStream<language.RunPluginRequest, language.RunPluginResponse>,
    ) => {
      const request = call.request;
      const programDirectory = request.getInfo()?.getProgramDirectory() ?? request.getPwd();
      if (request.getKind() !== "analyzer") {
        call.emit(
          "error",
          new Error(`only policy packs run here, not ${request.getKind()} plugins`),
        );
        return;
      }
      const env = request.getEnvList().length > 0 ? envFromList(request.getEnvList()) : process.env;
      const child = spawn(
        process.execPath,
        [
          sdkFile(programDirectory, "cmd/run-policy-pack"),
          ...request.getArgsList(),
          programDirectory,
        ],
        { cwd: request.getPwd() || programDirectory, env, stdio: ["ignore", "pipe", "pipe"] },
      );
      child.stdout.on("data", (chunk: Buffer) =>
        call.write(new language.RunPluginResponse().setStdout(chunk)),
      );
      child.stderr.on("data", (chunk: Buffer) =>
        call.write(new language.RunPluginResponse().setStderr(chunk)),
      );
      child.on("close", (code) => {
        call.write(new language.RunPluginResponse().setExitcode(code ?? 1));
        call.end();
      });
      call.on("cancelled", () => child.kill());
    },
  };
  return servePlugin(
    languageRpc.LanguageRuntimeService,
    implementation as languageRpc.ILanguageRuntimeServer,
  );
}

/** `["A=1", "B=2"]` as an environment. */
function envFromList(list: readonly string[]): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const entry of list) {
    const separator = entry.indexOf("=");
    if (separator > 0) env[entry.slice(0, separator)] = entry.slice(separator + 1);
  }
  return env;
}

void startHost(engineAddressFrom(process.argv.slice(2)));
