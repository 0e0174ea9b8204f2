// The local workflow runner (scripts/workflow-local.ts) keeps GitHub's rules where the gitops
// workflow relies on them: which jobs an event runs, status functions after a failed step, step
// outputs (one line or a delimited block, terminated or not), `gh` recorded; and it refuses, by
// name, what it does not do.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runWorkflow, type WorkflowEvent } from "../../scripts/workflow-local.ts";

function workflow(text: string): { file: string; cwd: string } {
  const cwd = mkdtempSync(join(tmpdir(), "pushplane-workflow-test-"));
  writeFileSync(join(cwd, "wf.yml"), text);
  return { file: join(cwd, "wf.yml"), cwd };
}
const run = (text: string, event: WorkflowEvent = "pull_request", secrets: Record<string, string> = {}) => {
  const { file, cwd } = workflow(text);
  return runWorkflow({ workflow: file, event, cwd, secrets });
};
const outcomes = (result: Awaited<ReturnType<typeof run>>) => result.jobs.flatMap((job) => job.steps.map((step) => `${job.job}/${step.name}: ${step.outcome}`));

describe("runWorkflow", () => {
  it("runs the jobs the event selects, with GitHub's status functions after a failed step", async () => {
    const result = await run(`
on: [pull_request, push]
env:
  WHO: \${{ secrets.WHO }}
jobs:
  pr:
    if: github.event_name == 'pull_request'
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: fails
        run: echo "said $WHO"; exit 3
      - name: plain
        run: echo never
      - name: on success
        if: success()
        run: echo never
      - name: on failure
        if: failure()
        run: echo cleanup
      - name: always
        if: always()
        run: echo always
  main:
    if: github.event_name == 'push'
    runs-on: ubuntu-latest
    steps:
      - run: echo main
`, "pull_request", { WHO: "ada" });
    expect(result.ok).toBe(false);
    expect(outcomes(result)).toEqual([
      "pr/actions/checkout@v4: skipped",
      "pr/fails: failure",
      "pr/plain: skipped",
      "pr/on success: skipped",
      "pr/on failure: success",
      "pr/always: success",
    ]);
    expect(result.jobs[0]!.steps[1]!.output).toContain("said ada");
  });

  it("passes step outputs on (a line, a block, an unterminated block) and records what gh would post", async () => {
    const result = await run(`
on: push
jobs:
  one:
    runs-on: ubuntu-latest
    steps:
      - id: out
        run: |
          echo "exit=7" >> "$GITHUB_OUTPUT"
          printf 'text<<END\\nline 1\\nline 2\\nEND\\nrest<<NEVER\\ntail\\n' >> "$GITHUB_OUTPUT"
      - name: uses them
        if: steps.out.outputs.exit != '0'
        run: |
          echo "\${{ steps.out.outputs.text }}|\${{ steps.out.outputs.rest }}" > body.md
          gh pr comment 1 --body-file body.md
`, "push");
    expect(outcomes(result)).toEqual(["one/echo \"exit=7\" >> \"$GITHUB_OUTPUT\": success", "one/uses them: success"]);
    expect(result.gh).toEqual([{ args: ["pr", "comment", "1", "--body-file", "body.md"], body: "line 1\nline 2|tail\n\n" }]);
  });

  it("refuses, by name, what it does not do instead of guessing", async () => {
    await expect(run("on: push\njobs:\n  a:\n    runs-on: x\n    needs: b\n    steps:\n      - run: 'true'\n", "push")).rejects.toThrow("job a: the local runner does not support needs");
    await expect(run("on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: 'true'\n        working-directory: sub\n", "push")).rejects.toThrow("does not support working-directory");
    await expect(run("on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: echo ${{ github.actor }}\n", "push")).rejects.toThrow("the local runner does not know ${{ github.actor }}");
  });
});
