// `pulumi up` of 100 audiences through a loopback proxy that answers 30 % of calls with 429, 503 or a
// dropped connection (before or after the service did the work) converges with no duplicates and no
// orphans, and `pulumi destroy` through the same proxy converges to nothing. Replay a run's faults
// with PUSHPLANE_FAULT_SEED=<the logged seed>.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { declaredAudiences, type DeclaredAudience } from "../fixtures/hundred-audiences/audiences.ts";
import { faultSeed, startFlakyProxy, type FlakyProxy } from "../helpers/flaky-proxy.ts";
import { REPO_ROOT, requireEngine, TestStack, type CommandResult } from "../helpers/pulumi.ts";
import { startService, type TestService } from "../helpers/service.ts";

const FIXTURE = join(REPO_ROOT, "test", "fixtures", "hundred-audiences");
const AUDIENCE_TYPE = "pulumi-nodejs:dynamic/pushplane:Audience";
/**
 * The provider retries each call 5 times, so a single call fails for good with probability about
 * 0.3^6 (≈ 0.07 %); over the ~400 calls of an `up` that happens now and then, and the next `up` must
 * pick up where the last one stopped. Four runs is far more than convergence should ever need.
 */
const MAX_RUNS = 4;
const RUN_TIMEOUT = 600_000;

let service: TestService;
let serviceUrl: string;

beforeAll(async () => {
  await requireEngine();
  // The service's own rate limit (1,200 calls a minute per token) would add real 429s whose
  // Retry-After runs to a minute; this test is about the proxy's faults, so lift it out of the way.
  service = await startService({ rateLimitPerMinute: 1_000_000 });
  serviceUrl = await service.listen();
});
afterAll(async () => {
  await service?.close();
});

interface ServiceAudience {
  name: string;
  definition: string;
  description?: string;
  enabled: boolean;
  custom_properties: Record<string, string>;
}

/** Every audience of the app, disabled ones too, straight from the service (never through the proxy). */
async function serviceAudiences(app: string, token: string): Promise<ServiceAudience[]> {
  const all: ServiceAudience[] = [];
  for (let next: string | undefined = `/v0.1/apps/acme/${app}/analytics/audiences?include_disabled=true&$top=50`; next; ) {
    const response = await fetch(new URL(next, serviceUrl), { headers: { "x-api-token": token } });
    expect(response.status).toBe(200);
    const page = (await response.json()) as { values: ServiceAudience[]; nextLink?: string };
    all.push(...page.values);
    next = page.nextLink;
  }
  return all;
}

interface StateResource {
  urn: string;
  type: string;
  id?: string;
  outputs?: { name?: string };
}
async function stackState(stack: TestStack): Promise<{ resources: StateResource[]; pendingOperations: unknown[] }> {
  const { deployment } = JSON.parse(await stack.exportState()) as { deployment: { resources?: StateResource[]; pending_operations?: unknown[] } };
  return { resources: deployment.resources ?? [], pendingOperations: deployment.pending_operations ?? [] };
}

/** The lines of a failed run a person would read first: the errors, not the progress. */
const errorLines = (result: CommandResult): string[] =>
  [...new Set(result.output.split("\n").filter((line) => /error:/.test(line)).map((line) => line.trim()))].slice(0, 8);

/** Runs `pulumi <command> --yes` until it succeeds, at most MAX_RUNS times; answers how many runs it took. */
async function converge(stack: TestStack, command: "up" | "destroy", label: string): Promise<{ runs: number; last: CommandResult }> {
  let last: CommandResult | undefined;
  for (let run = 1; run <= MAX_RUNS; run++) {
    const started = Date.now();
    last = await stack.pulumi(command, "--yes");
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    if (last.code === 0) {
      console.log(`[flaky-proxy] ${label}: ${command} #${run} succeeded in ${seconds}s`);
      return { runs: run, last };
    }
    console.log(`[flaky-proxy] ${label}: ${command} #${run} failed after ${seconds}s:\n  ${errorLines(last).join("\n  ")}`);
  }
  throw new Error(`pulumi ${command} did not converge in ${MAX_RUNS} runs (${label}); last output:\n${last!.output}`);
}

/** The service holds exactly the declared audiences, each as declared, and nothing else. */
async function expectServiceHolds(app: string, token: string, declared: DeclaredAudience[]) {
  const held = await serviceAudiences(app, token);
  const names = held.map((audience) => audience.name);
  expect(new Set(names).size, "no audience is listed twice").toBe(names.length);
  // No orphans: nothing the program does not declare (e.g. left behind by a create whose answer was lost).
  expect(names.sort()).toEqual(declared.map((audience) => audience.name).sort());
  expect(service.services.repositories.audiences.count({ owner: "acme", app })).toBe(declared.length);
  const byName = new Map(held.map((audience) => [audience.name, audience]));
  for (const audience of declared) {
    expect(byName.get(audience.name), audience.name).toMatchObject({
      definition: audience.definition,
      description: audience.description,
      enabled: audience.enabled,
      custom_properties: audience.customProperties,
    });
  }
}

/** The state holds exactly one Audience per declared audience, each with its id, and no operation left pending. */
async function expectStateHolds(stack: TestStack, app: string, declared: DeclaredAudience[]) {
  const state = await stackState(stack);
  expect(state.pendingOperations).toEqual([]);
  const audiences = state.resources.filter((resource) => resource.type === AUDIENCE_TYPE);
  expect(new Set(audiences.map((resource) => resource.urn)).size).toBe(audiences.length);
  expect(audiences.map((resource) => resource.id).sort()).toEqual(declared.map((audience) => `acme/${app}/${audience.name}`).sort());
  for (const resource of audiences) expect(resource.id).toBe(`acme/${app}/${resource.outputs?.name}`);
}

const logStats = (proxy: FlakyProxy, label: string) =>
  console.log(
    `[flaky-proxy] ${label}: seed ${proxy.seed}; ${proxy.stats.requests} calls, ${proxy.stats.forwarded} reached the service; ` +
      `faults ${JSON.stringify(proxy.stats.faults)}, by method ${JSON.stringify(proxy.stats.faultsByMethod)}`,
  );

describe("100 audiences through a proxy failing 30 % of calls", () => {
  const declared = declaredAudiences(100);
  const stack = new TestStack(FIXTURE);
  let proxy: FlakyProxy;
  const runs: Record<string, number> = {};

  beforeAll(async () => {
    proxy = await startFlakyProxy({ target: serviceUrl, seed: faultSeed(), faultRate: 0.3 });
    console.log(`[flaky-proxy] seed ${proxy.seed} (replay with PUSHPLANE_FAULT_SEED=${proxy.seed})`);
    await stack.init(
      { "pushplane:endpoint": proxy.url, "pushplane:owner": "acme", "pushplane:app": "demo" },
      { "pushplane:apiToken": service.token },
    );
  });
  afterAll(async () => {
    if (proxy) logStats(proxy, `totals (up runs ${runs.up ?? "-"}, destroy runs ${runs.destroy ?? "-"})`);
    await proxy?.close();
    stack.dispose();
  });

  it("up converges: exactly the declared audiences, no duplicates, no orphans, then no changes", { timeout: RUN_TIMEOUT }, async () => {
    const { runs: upRuns } = await converge(stack, "up", `seed ${proxy.seed}`);
    runs.up = upRuns;
    logStats(proxy, `after up (${upRuns} run(s))`);
    expect(proxy.stats.faults["drop-after-forward"], "the run must have lost some answers to calls that did their work").toBeGreaterThan(0);

    await expectServiceHolds("demo", service.token, declared);
    await expectStateHolds(stack, "demo", declared);
    const preview = await stack.ok("preview", "--expect-no-changes");
    // The hundred audiences and the stack itself.
    expect(preview.output).toContain("101 unchanged");
  });

  it("destroy through the same proxy converges to no audiences and an empty stack", { timeout: RUN_TIMEOUT }, async () => {
    const { runs: destroyRuns } = await converge(stack, "destroy", `seed ${proxy.seed}`);
    runs.destroy = destroyRuns;
    logStats(proxy, `after destroy (${destroyRuns} run(s))`);
    expect(await serviceAudiences("demo", service.token)).toEqual([]);
    expect(service.services.repositories.audiences.count({ owner: "acme", app: "demo" })).toBe(0);
    const state = await stackState(stack);
    expect(state.resources).toEqual([]);
    expect(state.pendingOperations).toEqual([]);
  });
});

// The fault the random run above meets only now and then, made certain: the service creates an
// audience but every answer to that create is lost, so `up` fails although the write happened. The
// next `up` must still converge (the audience is the one this stack tried to create), not refuse it
// as "already exists" and leave an audience that neither the stack nor its destroy will ever manage.
describe("a create whose every answer was lost converges on the next up", () => {
  const app = "lost-answers";
  const declared = declaredAudiences(3);
  const lost = declared[1]!.name;
  const stack = new TestStack(FIXTURE);
  let token: string;
  let proxy: FlakyProxy;

  beforeAll(async () => {
    token = service.tokenFor("acme", app);
    proxy = await startFlakyProxy({ target: serviceUrl, seed: 0, faultRate: 0 });
    proxy.decide = (call) => (call.method === "PUT" && call.path.endsWith(`/analytics/audiences/${lost}`) ? "drop-after-forward" : undefined);
    await stack.init(
      { "pushplane:endpoint": proxy.url, "pushplane:owner": "acme", "pushplane:app": app, "fixture:count": "3" },
      { "pushplane:apiToken": token },
    );
  });
  afterAll(async () => {
    await proxy?.close();
    stack.dispose();
  });

  it("up fails while the answers are lost, the next up adopts its own write; destroy leaves nothing", { timeout: RUN_TIMEOUT }, async () => {
    const first = await stack.pulumi("up", "--yes");
    expect(first.code).not.toBe(0);
    // The writes landed: the service holds the audience, the stack does not know it.
    expect(service.services.repositories.audiences.get({ owner: "acme", app }, lost)).toBeDefined();
    // The provider retried the PUT, and every one of its answers was lost.
    expect(proxy.stats.faults["drop-after-forward"]).toBeGreaterThan(1);

    proxy.heal();
    const second = await stack.pulumi("up", "--yes");
    expect(second.output).not.toContain("already exists");
    expect(second.code, errorLines(second).join("\n")).toBe(0);
    await expectServiceHolds(app, token, declared);
    await expectStateHolds(stack, app, declared);
    await stack.ok("preview", "--expect-no-changes");

    await stack.ok("destroy", "--yes");
    expect(await serviceAudiences(app, token)).toEqual([]);
  });
});
