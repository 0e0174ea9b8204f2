// What the gitops example's CI would do, run here against the embedded service: a copy of the
// repository (examples/gitops by default) installed the way `npm ci` installs it (offline, pushplane
// from `npm pack`), its `prod` stack on a local file backend, configured for a service and Azurite
// on loopback, and then the workflow's own jobs for each event given (scripts/workflow-local.ts).
//   npm run gitops:local                          push (up), pull_request (preview + review), schedule (drift)
//   npm run gitops:local -- pull_request          one event
//   npm run gitops:local -- --project DIR push    another repository laid out like examples/gitops
//   npm run gitops:local -- --base examples/gitops --project DIR   main applied, then DIR's change reviewed
// The e2e suite runs the same preparation and runner (test/e2e/gitops-workflow.test.ts).
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { parseArgs, promisify } from "node:util";
import { installOfflineProject } from "./offline-project.ts";
import { runWorkflow, WORKFLOW_EVENTS, type WorkflowEvent, type WorkflowRun } from "./workflow-local.ts";

const run = promisify(execFile);
export const REPO_ROOT = resolve(import.meta.dirname, "..");
export const GITOPS_EXAMPLE = join(REPO_ROOT, "examples", "gitops");
/** The stack the example's workflow names (its STACK). */
export const GITOPS_STACK = "prod";

export interface LocalRepository {
  /** The repository checkout the workflow's steps run in. */
  readonly dir: string;
  /** What the workflow reads as `secrets.*`: a file backend and its passphrase. */
  readonly secrets: Record<string, string>;
  /** The runner machine's environment: the engine on PATH, npm offline, Pulumi's home beside the state. */
  readonly env: NodeJS.ProcessEnv;
  /** Runs the workflow's jobs for an event in this repository. */
  run(event: WorkflowEvent, log?: (line: string) => void): Promise<WorkflowRun>;
  /** `pulumi <args>` in the repository with its secrets (set-up and checks outside the workflow). */
  pulumi(...args: string[]): Promise<{ code: number; output: string }>;
  /** A bash command line in the repository, with the runner's environment and the secrets as variables. */
  shell(script: string): Promise<{ code: number; stdout: string; output: string }>;
  dispose(): void;
}

export interface ServiceAccess {
  readonly endpoint: string;
  readonly apiToken: string;
  readonly storageConnectionString: string;
}

/**
 * Copies the project, installs it, creates its stack with the service's endpoint and, as secrets,
 * the API token and the storage account: what a team does once before the workflow first runs.
 */
export async function prepareLocalRepository(service: ServiceAccess, project = GITOPS_EXAMPLE): Promise<LocalRepository> {
  const root = mkdtempSync(join(tmpdir(), "pushplane-gitops-"));
  try {
    return await prepareIn(root, service, project);
  } catch (error) {
    rmSync(root, { recursive: true, force: true });
    throw error;
  }
}

async function prepareIn(root: string, service: ServiceAccess, project: string): Promise<LocalRepository> {
  const dir = join(root, "repository");
  const state = join(root, "state");
  mkdirSync(state);
  cpSync(project, dir, { recursive: true, filter: (source) => !/\/(node_modules|bin)$/.test(source) });
  const secrets = { PULUMI_BACKEND_URL: `file://${state}`, PULUMI_CONFIG_PASSPHRASE: "pushplane-local-workflow" };
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // The workflow's `npm ci` takes every package from npm's cache, as the repository's own install left it.
    npm_config_offline: "true",
    PULUMI_HOME: join(root, ".pulumi-home"),
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    NO_COLOR: "1",
  };
  await installOfflineProject(dir, ["provider", "policies"], ["@pulumi/pulumi", "typescript", "@types/node"], env);
  const exec = async (file: string, args: string[]) => {
    try {
      const { stdout, stderr } = await run(file, args, { cwd: dir, env: { ...env, ...secrets }, maxBuffer: 64 * 1024 * 1024 });
      return { code: 0, stdout, output: stdout + stderr };
    } catch (error) {
      const e = error as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === "number" ? e.code : 1, stdout: e.stdout ?? "", output: (e.stdout ?? "") + (e.stderr ?? "") };
    }
  };
  const pulumi = (...args: string[]) => exec("pulumi", [...args, "--non-interactive"]);
  const must = async (...args: string[]) => {
    const result = await pulumi(...args);
    if (result.code !== 0) throw new Error(`pulumi ${args[0]} ${args[1] ?? ""} failed:\n${result.output}`);
  };
  await must("stack", "init", GITOPS_STACK);
  await must("config", "set", "--stack", GITOPS_STACK, "pushplane:endpoint", service.endpoint);
  await must("config", "set", "--stack", GITOPS_STACK, "--secret", "pushplane:apiToken", service.apiToken);
  await must("config", "set", "--stack", GITOPS_STACK, "--secret", "pushplane:storageConnectionString", service.storageConnectionString);
  return {
    dir,
    secrets,
    env,
    run: (event, log) => runWorkflow({ workflow: join(dir, ".github", "workflows", "pushplane.yml"), event, cwd: dir, secrets, env, log }),
    pulumi,
    shell: (script) => exec("bash", ["-c", script]),
    dispose: () => rmSync(root, { recursive: true, force: true }),
  };
}

const USAGE = `usage: npm run gitops:local -- [--project DIR] [--base DIR] [--keep] [event …]
  Runs the GitHub Actions workflow of a repository laid out like examples/gitops (default) on this
  machine against the embedded service and Azurite, for each event in order (default: push
  pull_request schedule), printing each step and what it printed, and what gh would post.
  --base DIR  the repository as main holds it: the push applies it, then the pull request and the
              nights see --project's files (so the review shows your change against main)
  --keep      keep the repository copy and its state (printed at the end)`;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    options: { project: { type: "string" }, base: { type: "string" }, keep: { type: "boolean", default: false }, help: { type: "boolean", default: false } },
    allowPositionals: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const events = (positionals.length > 0 ? positionals : ["push", "pull_request", "schedule"]) as WorkflowEvent[];
  const unknown = events.filter((event) => !(WORKFLOW_EVENTS as readonly string[]).includes(event));
  if (unknown.length > 0) throw new Error(`unknown event(s) ${unknown.join(", ")}; one of ${WORKFLOW_EVENTS.join(", ")}\n${USAGE}`);
  const project = values.project ? resolve(values.project) : GITOPS_EXAMPLE;
  const base = values.base ? resolve(values.base) : undefined;
  // The embedded service and Azurite, as the e2e suite starts them (a service process on a temporary store).
  const { startAzurite } = await import("../test/helpers/azurite.ts");
  const { startServiceProcess } = await import("../test/helpers/service-process.ts");
  const data = mkdtempSync(join(tmpdir(), "pushplane-gitops-service-"));
  const cli = (...args: string[]) => run(process.execPath, ["--import", "tsx", "service/cli.ts", ...args, "--data-dir", data], { cwd: REPO_ROOT });
  await cli("generate", "--app", "acme/ios", "--devices", "5000", "--events-per-device", "0", "--seed", "7");
  const apiToken = (await cli("token", "create", "--owner", "acme", "--app", "ios", "--description", "gitops local run")).stdout.trim();
  let azurite: Awaited<ReturnType<typeof startAzurite>> | undefined;
  let service: Awaited<ReturnType<typeof startServiceProcess>> | undefined;
  let repository: LocalRepository | undefined;
  try {
    azurite = await startAzurite();
    service = await startServiceProcess(data, ["--outbound-allow-loopback"]);
    console.log(`[gitops] service ${service.url}, Azurite ${azurite.blobEndpoint}; installing ${base ?? project}`);
    repository = await prepareLocalRepository({ endpoint: service.url, apiToken, storageConnectionString: azurite.connectionString }, base ?? project);
    let ok = true;
    for (const event of events) {
      console.log(`[gitops] on ${event}`);
      const result = await repository.run(event, (line) => console.log(line));
      for (const step of result.jobs.flatMap((job) => job.steps).filter((step) => step.outcome !== "skipped" && step.output.trim() !== "")) {
        console.log(`[gitops] ${step.name} printed:\n${step.output.trimEnd().slice(-20_000).replace(/^/gm, "    ")}`);
      }
      for (const call of result.gh) console.log(`[gitops] gh ${call.args.join(" ")}${call.body ? `:\n${call.body}` : ""}`);
      ok &&= result.ok;
      // After main is applied, the branch under review: the repository's files become --project's
      // (what the branch deleted goes too); the install and the stack's config stay.
      if (event === "push" && base) {
        const kept = (name: string) => /^(node_modules|package(-lock)?\.json|Pulumi\.(?!yaml$)[^/]+\.yaml|\.pulumi.*)$/.test(name);
        for (const name of readdirSync(repository.dir).filter((name) => !kept(name))) rmSync(join(repository.dir, name), { recursive: true, force: true });
        cpSync(project, repository.dir, { recursive: true, filter: (source) => !kept(basename(source)) || source === project });
      }
    }
    return ok ? 0 : 1;
  } finally {
    if (values.keep && repository) console.log(`[gitops] kept: ${repository.dir} (state beside it); the service and Azurite are stopped`);
    else repository?.dispose();
    service?.child.kill();
    await azurite?.stop();
    rmSync(data, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  main().then(
    (code) => process.exit(code),
    (error: Error) => {
      console.error(`[gitops] ${error.message}`);
      process.exit(1);
    },
  );
}
