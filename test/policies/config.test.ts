import { describe, expect, it } from "vitest";
import { resourceType, STACK_FACTS_INPUT, type StackFacts } from "../../domain/index.ts";
import { newConfigCredentialsSecret, newConfigEndpointHttps } from "../../policies/config.ts";
import { violations } from "./run.ts";

const AUDIENCE = resourceType("Audience");
// One happy-path stack; each case changes one fact.
const happy: StackFacts = { endpoint: "https://push.example.com", credentials: { "pushplane:apiToken": "secret", "pushplane:apiTokens": "secret" } };
const props = (facts: Partial<StackFacts>) => ({ name: "us", definition: "carrierCountry eq 'US'", [STACK_FACTS_INPUT]: { ...happy, ...facts } });

describe("config-credentials-secret", () => {
  // A fresh policy per case: a policy says each problem once per run.
  const check = (facts: Partial<StackFacts>, type = AUDIENCE) => violations(newConfigCredentialsSecret(), type, props(facts));
  it("passes a stack whose credentials are secrets", () => expect(check({})).toEqual([]));
  it("stops a token stored in plaintext, naming the key and the command", () => {
    expect(check({ credentials: { ...happy.credentials, "pushplane:apiToken": "plaintext" } })).toEqual([
      "pushplane:apiToken is stored in plaintext in the stack's config file: anyone who can read the repository can use it. Set it again as a secret: `pulumi config set --secret pushplane:apiToken <value>` (a map entry: add --path)",
    ]);
    expect(check({ credentials: { "pushplane:storageConnectionString": "plaintext" } })[0]).toContain("pushplane:storageConnectionString is stored in plaintext");
  });
  it("says when it cannot tell", () => expect(check({ credentials: { "pushplane:apiToken": "unknown" } })[0]).toContain("could not tell whether it is a secret"));
  it("ignores other resource types and resources without the facts", () => {
    expect(check({ credentials: { "pushplane:apiToken": "plaintext" } }, "random:index:RandomString")).toEqual([]);
    expect(violations(newConfigCredentialsSecret(), AUDIENCE, { name: "us" })).toEqual([]);
  });
  it("says a problem once however many resources carry it", () => {
    const policy = newConfigCredentialsSecret();
    const plaintext = props({ credentials: { "pushplane:apiToken": "plaintext" } });
    expect([...violations(policy, AUDIENCE, plaintext), ...violations(policy, AUDIENCE, plaintext)]).toHaveLength(1);
  });
});

describe("config-endpoint-https", () => {
  const check = (endpoint: string) => violations(newConfigEndpointHttps(), AUDIENCE, props({ endpoint }));
  it("passes https anywhere and http to this machine", () => {
    for (const endpoint of ["https://push.example.com", "https://10.0.0.5:8443", "http://127.0.0.1:8080", "http://127.9.9.9", "http://localhost:3000", "http://api.localhost", "http://[::1]:8080"]) {
      expect(check(endpoint), endpoint).toEqual([]);
    }
  });
  it("stops plain http to any other host, naming the endpoint", () => {
    expect(check("http://push.example.com")).toEqual([
      "pushplane:endpoint 'http://push.example.com' sends the API token unencrypted over the network: use https:// (plain http only to localhost or a loopback address)",
    ]);
    // Not loopback, however written: the unspecified address, a private one, loopback in IPv4-mapped IPv6 form.
    for (const endpoint of ["http://0.0.0.0:8080", "http://10.0.0.5", "http://[::ffff:127.0.0.1]", "http://localhost.example.com"]) expect(check(endpoint), endpoint).toHaveLength(1);
  });
  it("stops other schemes and text that is not a URL", () => {
    expect(check("ftp://push.example.com")[0]).toContain("over ftp:");
    expect(check("push.example.com")[0]).toBe("pushplane:endpoint 'push.example.com' is not a URL: set it to the service's https:// address");
  });
});
