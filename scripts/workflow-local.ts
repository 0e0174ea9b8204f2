// Runs a GitHub Actions workflow's jobs for one event on this machine, step by step, with the
// workflow's own `run:` commands — so what CI would do is what runs here. What only GitHub has is
// stood in for, and said: `uses:` steps are skipped (the checkout is the directory given; Node and
// the Pulumi CLI must be on PATH), `gh` is a shim that records what it was asked to post, and
// `${{ }}` expressions are evaluated from the event, the secrets given and the steps' outputs. An
// expression this runner does not know fails the run, naming it, rather than being guessed.
import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";

export const WORKFLOW_EVENTS = ["pull_request", "push", "schedule", "workflow_dispatch"] as const;
export type WorkflowEvent = (typeof WORKFLOW_EVENTS)[number];

interface Step {
  name?: string;
  id?: string;
  if?: string;
  uses?: string;
  run?: string;
  env?: Record<string, string | number | boolean>;
}
interface Job {
  if?: string;
  env?: Record<string, string | number | boolean>;
  steps: Step[];
}
interface Workflow {
  env?: Record<string, string | number | boolean>;
  jobs: Record<string, Job>;
}

export interface StepResult {
  readonly name: string;
  readonly outcome: "success" | "failure" | "skipped";
  /** Why it was skipped, or the exit code it failed with. */
  readonly note?: string;
  readonly output: string;
}
export interface JobResult {
  readonly job: string;
  readonly ok: boolean;
  readonly steps: StepResult[];
}
/** What a step asked `gh` to do: its arguments, and the file it posted (--body-file) read at the time. */
export interface GhCall {
  readonly args: string[];
  readonly body?: string;
}
export interface WorkflowRun {
  readonly event: WorkflowEvent;
  readonly jobs: JobResult[];
  readonly gh: GhCall[];
  readonly ok: boolean;
}

export interface WorkflowRunOptions {
  /** The workflow file. */
  readonly workflow: string;
  readonly event: WorkflowEvent;
  /** The repository checkout the steps run in. */
  readonly cwd: string;
  /** `secrets.NAME` values; a secret not given is empty, as on GitHub. */
  readonly secrets?: Record<string, string>;
  /** The environment the runner machine has (PATH with node and pulumi, npm settings). */
  readonly env?: NodeJS.ProcessEnv;
  /** Printed as each step ends (a CLI shows progress; tests pass nothing). */
  readonly log?: (line: string) => void;
}

/** Runs every job of the workflow whose `if` holds for the event, in file order. */
export async function runWorkflow(options: WorkflowRunOptions): Promise<WorkflowRun> {
  const workflow = parseYaml(readFileSync(options.workflow, "utf8")) as Workflow;
  refuseUnsupported("the workflow", workflow as unknown as Record<string, unknown>, ["name", "on", "permissions", "concurrency", "env", "jobs"]);
  const scratch = mkdtempSync(join(tmpdir(), "pushplane-workflow-"));
  const ghLog = join(scratch, "gh.jsonl");
  writeFileSync(ghLog, "");
  writeGhShim(scratch);
  try {
    const jobs: JobResult[] = [];
    for (const [name, job] of Object.entries(workflow.jobs)) {
      const context = new Context(options, {});
      refuseUnsupported(`job ${name}`, job as unknown as Record<string, unknown>, ["if", "env", "steps", "runs-on", "permissions", "environment", "concurrency", "timeout-minutes", "name"]);
      if (job.if !== undefined && !context.condition(job.if, false)) continue;
      jobs.push(await runJob(name, workflow, job, options, scratch, ghLog));
    }
    const gh = readFileSync(ghLog, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as GhCall);
    return { event: options.event, jobs, gh, ok: jobs.every((job) => job.ok) };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function runJob(name: string, workflow: Workflow, job: Job, options: WorkflowRunOptions, scratch: string, ghLog: string): Promise<JobResult> {
  const outputs: Record<string, Record<string, string>> = {};
  const steps: StepResult[] = [];
  let failed = false;
  for (const [index, step] of job.steps.entries()) {
    const label = step.name ?? step.run?.split("\n")[0] ?? step.uses ?? `step ${index + 1}`;
    const context = new Context(options, outputs);
    const say = (result: StepResult) => {
      steps.push(result);
      options.log?.(`[${name}] ${result.outcome === "success" ? "✓" : result.outcome === "failure" ? "✗" : "-"} ${result.name}${result.note ? ` (${result.note})` : ""}`);
    };
    refuseUnsupported(`job ${name}, step '${label}'`, step as Record<string, unknown>, ["name", "id", "if", "uses", "run", "env", "with"]);
    // GitHub's rule: a step's `if` without a status function also needs every step before to have passed.
    const statusFunction = /\b(always|failure|success|cancelled)\(\)/.test(step.if ?? "");
    if (failed && !statusFunction) {
      say({ name: label, outcome: "skipped", note: "an earlier step failed", output: "" });
      continue;
    }
    if (step.if !== undefined && !context.condition(step.if, failed)) {
      say({ name: label, outcome: "skipped", note: `if: ${step.if}`, output: "" });
      continue;
    }
    if (step.uses !== undefined) {
      say({ name: label, outcome: "skipped", note: `uses: ${step.uses} — locally, the checkout is ${options.cwd} and node and pulumi come from PATH`, output: "" });
      continue;
    }
    if (step.run === undefined) throw new Error(`job ${name}, step '${label}': neither run nor uses`);
    const outputFile = join(scratch, `output-${name}-${index}`);
    writeFileSync(outputFile, "");
    const env: NodeJS.ProcessEnv = {
      ...(options.env ?? process.env),
      ...context.values(workflow.env),
      ...context.values(job.env),
      ...context.values(step.env),
      GITHUB_OUTPUT: outputFile,
      GITHUB_ACTIONS: "true",
      GITHUB_EVENT_NAME: options.event,
      PATH: `${scratch}:${(options.env ?? process.env).PATH ?? ""}`,
      PUSHPLANE_LOCAL_GH_LOG: ghLog,
    };
    const script = context.substitute(step.run);
    const result = await bash(script, options.cwd, env);
    if (step.id) outputs[step.id] = readOutputs(outputFile);
    if (result.code === 0) say({ name: label, outcome: "success", output: result.output });
    else {
      failed = true;
      say({ name: label, outcome: "failure", note: `exit ${result.code}`, output: result.output });
    }
  }
  return { job: name, ok: !failed, steps };
}

/** What a job or step says that this runner does not do (working-directory, shell, needs, …): refused by name, never ignored. */
function refuseUnsupported(where: string, entry: Record<string, unknown>, supported: readonly string[]): void {
  const unknown = Object.keys(entry).filter((key) => !supported.includes(key));
  if (unknown.length > 0) throw new Error(`${where}: the local runner does not support ${unknown.join(", ")}; teach scripts/workflow-local.ts or leave it out`);
}

/** GitHub's default shell on Linux runners: bash without profiles, errexit and pipefail. */
function bash(script: string, cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", script], { cwd, env, maxBuffer: 256 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === "number" ? ((error as { code: number }).code) : 1) : 0;
      resolve({ code, output: stdout + stderr });
    });
  });
}

/** `name=value` lines (and `name<<DELIMITER` blocks) a step wrote to $GITHUB_OUTPUT. */
function readOutputs(file: string): Record<string, string> {
  const lines = readFileSync(file, "utf8").split("\n");
  const outputs: Record<string, string> = {};
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const block = /^([^=]+)<<(.+)$/.exec(line);
    if (block) {
      const found = lines.findIndex((candidate, at) => at > i && candidate.replace(/\r$/, "") === block[2]!.replace(/\r$/, ""));
      // An unterminated block runs to the end of the file (GitHub fails the step; here the value is kept).
      const end = found === -1 ? lines.length : found;
      outputs[block[1]!] = lines.slice(i + 1, end).join("\n");
      i = end;
    } else if (line.includes("=")) outputs[line.slice(0, line.indexOf("="))] = line.slice(line.indexOf("=") + 1);
  }
  return outputs;
}

/** A `gh` that records its arguments and the body file it would post, for the run's report. */
function writeGhShim(dir: string): void {
  const shim = join(dir, "gh");
  writeFileSync(
    shim,
    `#!/usr/bin/env node
const fs = require("node:fs");
const args = process.argv.slice(2);
const at = args.indexOf("--body-file");
const body = at >= 0 ? fs.readFileSync(args[at + 1], "utf8") : undefined;
fs.appendFileSync(process.env.PUSHPLANE_LOCAL_GH_LOG, JSON.stringify({ args, body }) + "\\n");
console.log("gh (local stand-in): recorded " + args.slice(0, 2).join(" "));
`,
  );
  chmodSync(shim, 0o755);
}

/** The `${{ }}` expressions the workflow uses, evaluated from what a local run knows. */
class Context {
  constructor(
    private readonly options: WorkflowRunOptions,
    private readonly outputs: Record<string, Record<string, string>>,
  ) {}

  private lookup(path: string): string {
    const parts = path.split(".");
    if (parts[0] === "secrets" && parts.length === 2) return this.options.secrets?.[parts[1]!] ?? "";
    if (parts[0] === "steps" && parts[2] === "outputs" && parts.length === 4) return this.outputs[parts[1]!]?.[parts[3]!] ?? "";
    const github: Record<string, string> = {
      "github.event_name": this.options.event,
      "github.token": "local-run-token",
      "github.ref": this.options.event === "pull_request" ? "refs/pull/1/merge" : "refs/heads/main",
      "github.event.pull_request.number": "1",
    };
    if (path in github) return github[path]!;
    throw new Error(`the local runner does not know \${{ ${path} }}: teach scripts/workflow-local.ts what it is locally`);
  }

  private operand(text: string): string {
    const literal = /^'(.*)'$/.exec(text.trim());
    return literal ? literal[1]!.replace(/''/g, "'") : this.lookup(text.trim());
  }

  /** `a == 'x' || b != 'y'` (and `&&`), and the status functions given whether a step before failed. */
  condition(expression: string, failed: boolean): boolean {
    const text = expression.trim().replace(/^\$\{\{(.*)\}\}$/s, "$1").trim();
    return text.split("||").some((any) =>
      any.split("&&").every((term) => {
        const comparison = /^(.+?)\s*(==|!=)\s*(.+)$/.exec(term.trim());
        if (comparison) {
          const [left, right] = [this.operand(comparison[1]!), this.operand(comparison[3]!)];
          return comparison[2] === "==" ? left === right : left !== right;
        }
        const status: Record<string, boolean> = { "always()": true, "success()": !failed, "failure()": failed, "cancelled()": false };
        if (term.trim() in status) return status[term.trim()]!;
        throw new Error(`the local runner cannot evaluate 'if: ${expression}' (${term.trim()})`);
      }),
    );
  }

  substitute(text: string): string {
    return text.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_, path: string) => this.lookup(path));
  }

  values(env: Record<string, string | number | boolean> | undefined): Record<string, string> {
    return Object.fromEntries(Object.entries(env ?? {}).map(([key, value]) => [key, this.substitute(String(value))]));
  }
}
