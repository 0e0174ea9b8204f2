// Runs the real Pulumi CLI against a temporary local-file backend, one stack per harness.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { startService, type TestService } from "./service.ts";

const run = promisify(execFile);

/** How long one e2e test may take on the real engine. */
export const E2E_TIMEOUT = 180_000;

/** An e2e file's set-up: the engine is required (never skipped), and one service listens on loopback. */
export async function startEngineSuite(): Promise<{ service: TestService; endpoint: string }> {
  await requireEngine();
  const service = await startService();
  return { service, endpoint: await service.listen() };
}
export const REPO_ROOT = resolve(import.meta.dirname, "..", "..");

const pinnedVersion = (): string => /PULUMI_VERSION=(\S+)/.exec(readFileSync(join(REPO_ROOT, "scripts", "versions.sh"), "utf8"))![1]!;

const HOW_TO_BUILD =
  "The e2e suite needs the Pulumi engine: run `npm test` (it builds and caches it), or `bash scripts/engine.sh` " +
  "and put the directory it prints first on PATH (it builds pulumi and pulumi-language-nodejs from Go modules).";

/** Fails, with how to build it, when the engine is missing or older than the pinned version. */
export async function requireEngine(): Promise<string> {
  let version: string;
  try {
    version = (await run("pulumi", ["version"])).stdout.trim().replace(/^v/, "");
    await run("which", ["pulumi-language-nodejs"]);
  } catch {
    throw new Error(`pulumi or pulumi-language-nodejs not found on PATH. ${HOW_TO_BUILD}`);
  }
  const pinned = pinnedVersion();
  const older = version.localeCompare(pinned, undefined, { numeric: true }) < 0;
  if (older) throw new Error(`pulumi ${version} is older than the pinned ${pinned}. ${HOW_TO_BUILD}`);
  return version;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout and stderr together, for assertions on what a user sees. */
  output: string;
}

export class TestStack {
  readonly workDir = mkdtempSync(join(tmpdir(), "pushplane-e2e-"));
  readonly configFile = join(this.workDir, "Pulumi.test.yaml");
  readonly env: NodeJS.ProcessEnv;

  constructor(
    readonly projectDir: string,
    readonly stackName = `t${randomBytes(4).toString("hex")}`,
  ) {
    this.env = {
      ...process.env,
      PULUMI_BACKEND_URL: `file://${this.workDir}`,
      PULUMI_CONFIG_PASSPHRASE: "pushplane-e2e",
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      PULUMI_HOME: join(this.workDir, ".pulumi-home"),
      NO_COLOR: "1",
    };
  }

  /** Runs `pulumi <args>` in the project with this stack and config file; never throws on a non-zero exit. */
  async pulumi(...args: string[]): Promise<CommandResult> {
    // Flags go before a `--`, after which everything is a positional value.
    const split = args.indexOf("--");
    const [command, positional] = split === -1 ? [args, []] : [args.slice(0, split), args.slice(split)];
    const flags = ["--non-interactive", "--color", "never"];
    if (!(command[0] === "stack" && command[1] === "init")) flags.push("--stack", this.stackName);
    if (["up", "preview", "refresh", "destroy", "config"].includes(command[0]!)) flags.push("--config-file", this.configFile);
    const full = [...command, ...flags, ...positional];
    try {
      const { stdout, stderr } = await run("pulumi", full, { cwd: this.projectDir, env: this.env, maxBuffer: 64 * 1024 * 1024 });
      return { code: 0, stdout, stderr, output: stdout + stderr };
    } catch (error) {
      const e = error as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === "number" ? e.code : 1, stdout: e.stdout ?? "", stderr: e.stderr ?? "", output: (e.stdout ?? "") + (e.stderr ?? "") };
    }
  }

  /** Runs and fails the test, showing the output, on a non-zero exit. */
  async ok(...args: string[]): Promise<CommandResult> {
    const result = await this.pulumi(...args);
    if (result.code !== 0) throw new Error(`pulumi ${args.join(" ")} exited ${result.code}:\n${result.output}`);
    return result;
  }

  async init(config: Record<string, string>, secrets: Record<string, string> = {}): Promise<void> {
    await this.ok("stack", "init", this.stackName);
    // `stack init` writes the passphrase salt to the project's Pulumi.<stack>.yaml (it has no
    // --config-file); move it beside the temporary state so tests leave the project untouched.
    const written = join(this.projectDir, `Pulumi.${this.stackName}.yaml`);
    if (existsSync(written)) {
      copyFileSync(written, this.configFile);
      rmSync(written);
    }
    // A key with a path (`pushplane:apiTokens["acme/ios"]`) sets one entry of a map.
    const pathFlag = (key: string) => (key.includes("[") ? ["--path"] : []);
    for (const [key, value] of Object.entries(config)) await this.ok("config", "set", ...pathFlag(key), key, value);
    for (const [key, value] of Object.entries(secrets)) await this.ok("config", "set", "--secret", ...pathFlag(key), key, value);
  }

  async exportState(): Promise<string> {
    return (await this.ok("stack", "export")).stdout;
  }

  dispose(): void {
    rmSync(this.workDir, { recursive: true, force: true });
  }
}
