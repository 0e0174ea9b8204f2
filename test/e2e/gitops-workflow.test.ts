// examples/gitops's workflow, run here as CI would run it (scripts/gitops-local.ts: the repository
// installed with npm ci, the workflow's own `run:` steps, the stock engine): a merge applies the
// audiences; a pull request that narrows, widens, adopts, deletes and misnames audiences gets the
// review comment — compared with the expected Markdown, one stack and two — and fails on the
// mandatory violation; the nightly job passes on a quiet night and opens an issue on drift.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { prepareLocalRepository, type LocalRepository } from "../../scripts/gitops-local.ts";
import { generateApp } from "../../service/synthetic.ts";
import { startAzurite, type Azurite } from "../helpers/azurite.ts";
import { E2E_TIMEOUT, REPO_ROOT, startEngineSuite } from "../helpers/pulumi.ts";
import { startService, type TestService } from "../helpers/service.ts";

/** The expected Markdown (PUSHPLANE_UPDATE_GOLDEN=1 writes what was rendered instead, to review in the diff). */
function expectGolden(actual: string | undefined, name: string): void {
  const file = join(REPO_ROOT, "test", "fixtures", "review", name);
  if (process.env.PUSHPLANE_UPDATE_GOLDEN === "1") writeFileSync(file, actual ?? "");
  expect(actual).toBe(readFileSync(file, "utf8"));
}
const KEY = { owner: "acme", app: "ios" };

let service: TestService;
let endpoint: string;
let azurite: Azurite;
let repository: LocalRepository;
beforeAll(async () => {
  ({ service, endpoint } = await startEngineSuite());
  generateApp(service.services.devices, KEY, { devices: 3_000, eventsPerDevice: 0, seed: 11 });
  await service.services.idle();
  azurite = await startAzurite();
  repository = await prepareLocalRepository({ endpoint, apiToken: service.tokenFor(KEY.owner, KEY.app), storageConnectionString: azurite.connectionString });
}, E2E_TIMEOUT);
afterAll(async () => {
  repository?.dispose();
  await service?.close();
  await azurite?.stop();
});

const audiencesUrl = (name = "") => `${endpoint}/v0.1/apps/acme/ios/analytics/audiences${name ? `/${name}` : ""}`;
const api = (method: string, name: string, body?: unknown) =>
  fetch(audiencesUrl(name), {
    method,
    headers: { "x-api-token": service.tokenFor(KEY.owner, KEY.app), ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
const stepsOf = (run: Awaited<ReturnType<LocalRepository["run"]>>) => run.jobs.flatMap((job) => job.steps.map((step) => `${job.job}: ${step.name}: ${step.outcome}`));

describe("examples/gitops's workflow, run locally against the embedded service", () => {
  it("on a merge to main: up applies the audiences, the export container, its SAS and the nightly job", { timeout: E2E_TIMEOUT }, async () => {
    const merged = await repository.run("push");
    expect(merged.jobs.map((job) => job.job)).toEqual(["up"]);
    expect(merged.ok, merged.jobs[0]!.steps.at(-1)!.output).toBe(true);
    for (const name of ["us-users", "recent-os", "dog-lovers"]) expect((await api("GET", name)).status, name).toBe(200);
  });

  it("on a pull request: the review comment shows each change with its size and the violation, and the job fails", { timeout: E2E_TIMEOUT }, async () => {
    // Someone made 'vip' in the service by hand; the pull request takes it over.
    expect((await api("PUT", "vip", { definition: "carrierCountry eq 'DE'", description: "made by hand" })).status).toBe(200);
    writeFileSync(
      join(repository.dir, "audiences", "acme", "ios.yaml"),
      `audiences:
  - name: us-users
    definition: carrierCountry eq 'US' and osApiLevel ge 30
    description: Users in the United States
  - name: dog-lovers
    definition: dog-lover eq true or carrierCountry eq 'GB'
    customProperties:
      dog-lover: boolean
  - name: vip
    definition: carrierCountry eq 'DE' or carrierCountry eq 'FR'
    description: Taken over from the service
    adopt: true
  - name: Spring_Sale
    definition: osApiLevel ge 34
`,
    );
    const pr = await repository.run("pull_request");
    expect(stepsOf(pr)).toEqual([
      "preview: actions/checkout@v4: skipped",
      "preview: actions/setup-node@v4: skipped",
      "preview: pulumi/actions@v6: skipped",
      "preview: npm ci: success",
      "preview: Check the policy config: success",
      "preview: Preview with the policy pack: success",
      "preview: Review summary: success",
      "preview: Post the review on the pull request: success",
      "preview: Fail on mandatory policy violations or a failed preview: failure",
    ]);
    expect(pr.ok).toBe(false);
    expect(pr.gh).toHaveLength(1);
    expect(pr.gh[0]!.args).toEqual(["pr", "comment", "1", "--body-file", "review.md", "--edit-last", "--create-if-none"]);
    expectGolden(pr.gh[0]!.body, "gitops-pr.md");
    // Nothing was applied by the pull request.
    expect(((await (await api("GET", "us-users")).json()) as { definition: string }).definition).toBe("carrierCountry eq 'US'");
  });

  it("reviews two stacks in one comment: the pull request's prod and a staging stack on a service of its own", { timeout: E2E_TIMEOUT }, async () => {
    // Its own service and storage account, as a staging environment has.
    const [staging, stagingStorage] = [await startService(), await startAzurite()];
    try {
      generateApp(staging.services.devices, KEY, { devices: 500, eventsPerDevice: 0, seed: 12 });
      await staging.services.idle();
      const stagingEndpoint = await staging.listen();
      const stack = ["--stack", "staging"];
      for (const args of [
        ["stack", "init", "staging"],
        ["config", "set", ...stack, "pushplane:endpoint", stagingEndpoint],
        ["config", "set", ...stack, "--secret", "pushplane:apiToken", staging.tokenFor(KEY.owner, KEY.app)],
        ["config", "set", ...stack, "--secret", "pushplane:storageConnectionString", stagingStorage.connectionString],
      ]) {
        const result = await repository.pulumi(...args);
        expect(result.code, result.output).toBe(0);
      }
      // The workflow's preview command for the second stack, then one review of both.
      const preview = await repository.shell(
        'PULUMI_ENABLE_STREAMING_JSON_PREVIEW=1 pulumi preview --stack staging --json --policy-pack node_modules/@pushplane/policy-pack --policy-pack-config policy-config.json > preview-staging.json',
      );
      // The pull request's misnamed audience stops this stack too.
      expect(preview.code, preview.output).not.toBe(0);
      const review = await repository.shell("npx pushplane review prod=preview.json staging=preview-staging.json");
      expect(review.code, review.output).toBe(0);
      expectGolden(review.stdout, "gitops-two-stacks.md");
    } finally {
      await staging.close();
      await stagingStorage.stop();
    }
  });

  it("every night: a quiet night passes; an audience edited in the service opens a drift issue and fails", { timeout: E2E_TIMEOUT }, async () => {
    // The pull request was not merged: the repository goes back to what main holds.
    writeFileSync(join(repository.dir, "audiences", "acme", "ios.yaml"), readFileSync(join(REPO_ROOT, "examples", "gitops", "audiences", "acme", "ios.yaml")));
    const quiet = await repository.run("schedule");
    expect(quiet.jobs.map((job) => job.job)).toEqual(["drift"]);
    expect(quiet.ok, quiet.jobs[0]!.steps.map((step) => step.output).join("\n")).toBe(true);
    expect(quiet.gh).toEqual([]);

    expect((await api("PUT", "recent-os", { definition: "osApiLevel ge 21", description: "Devices on a recent OS" })).status).toBe(200);
    const drifted = await repository.run("schedule");
    expect(drifted.ok).toBe(false);
    expect(drifted.gh).toHaveLength(1);
    expect(drifted.gh[0]!.args.slice(0, 3)).toEqual(["issue", "create", "--title"]);
    expect(drifted.gh[0]!.args[3]).toMatch(/^pushplane drift in prod \(\d{4}-\d{2}-\d{2}\)$/);
    expect(drifted.gh[0]!.body).toContain("The nightly `pulumi preview --refresh` of stack `prod` found changes");
    expect(drifted.gh[0]!.body).toContain("recent-os");
  });
});
