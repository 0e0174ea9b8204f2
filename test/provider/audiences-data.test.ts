// Audiences as data: a directory of YAML files (one per app, one per audience) read with the
// Audience declaration's schemas; every problem of every file reported at once with file:line:column.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AudienceFilesError, readAudienceFiles } from "../../provider/audiences-data.ts";
import { REPO_ROOT } from "../helpers/pulumi.ts";

const FIXTURE = join(REPO_ROOT, "test", "fixtures", "audiences-as-data");

describe("readAudienceFiles", () => {
  it("reads one file per app and one per audience, owner and app from the path, the name from the file", () => {
    expect(readAudienceFiles(join(FIXTURE, "audiences")).map(({ at, inputs }) => [at, inputs.owner, inputs.app, inputs.name, inputs.definition])).toEqual([
      ["acme/data/vip.yaml:2:1", "acme", "data", "vip", "plan eq 'gold' or plan eq 'platinum'"],
      ["acme/data.yaml:3:5", "acme", "data", "us-users", "carrierCountry eq 'US'"],
      ["acme/data.yaml:6:5", "acme", "data", "dog-lovers", "dog-lover eq true and osApiLevel ge 30"],
    ]);
  });

  it("reports every problem of every file at once, each with its file, line and column", () => {
    let thrown: unknown;
    try {
      readAudienceFiles(join(FIXTURE, "audiences-bad"));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(AudienceFilesError);
    const problems = (thrown as AudienceFilesError).problems;
    expect(problems).toHaveLength(5);
    expect(problems[0]).toBe("acme/data.yaml:4:5: definition: Invalid input: expected string, received undefined");
    expect(problems[1]).toBe("acme/data.yaml:5:16: definiton: Audience has no input 'definiton' (did you mean 'definition'?)");
    expect(problems[2]).toMatch(/^acme\/data\.yaml:7:17: definition: unknown property 'localee': did you mean 'locale'\?/);
    expect(problems[3]).toBe("acme/data.yaml:8:5: audience 'us-users' is declared twice (first at acme/data.yaml:2:5)");
    expect(problems[4]).toMatch(/^stray\.yaml:3:1: YAML: /);
    expect((thrown as Error).message.split("\n")[0]).toBe("5 problem(s) in the audience files:");
  });
});
