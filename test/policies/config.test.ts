import { describe, expect, it } from "vitest";
import { resourceType, STACK_FACTS_INPUT, type StackFacts } from "../../domain/index.ts";
import { newConfigCredentialsSecret, newConfigEndpointHttps } from "../../policies/config.ts";
import { violations } from "./run.ts";

const AUDIENCE = resourceType("Audience");
// One happy-path stack; each case changes one fact.
const happy: StackFacts = {
  endpoint: "https://push.example.com",
  credentials: [
    { key: "pushplane:apiToken", kind: "secret", file: "Pulumi.prod.yaml" },
    { key: "pushplane:apiTokens", kind: "secret", file: "Pulumi.prod.yaml" },
  ],
};
const props = (facts: Partial<StackFacts>) => ({ name: "us", definition: "carrierCountry eq 'US'", [STACK_FACTS_INPUT]: { ...happy, ...facts } });

describe("config-credentials-secret", () => {
  // A fresh policy per case: a policy says each problem once per run.
  const check = (credentials: StackFacts["credentials"], type = AUDIENCE) => violations(newConfigCredentialsSecret(), type, props({ credentials }));
  it("passes a stack whose credentials are secrets", () => expect(check(happy.credentials)).toEqual([]));
  it("stops a token stored in plaintext, naming the key, the file and the command", () => {
    expect(check([{ key: "pushplane:apiToken", kind: "plaintext", file: "Pulumi.prod.yaml" }])).toEqual([
      "pushplane:apiToken is stored in plaintext in Pulumi.prod.yaml: anyone who can read it can use it. Set it again as a secret: `pulumi config set --secret 'pushplane:apiToken' <value>`",
    ]);
    expect(check([{ key: "pushplane:storageConnectionString", kind: "plaintext" }])[0]).toContain("pushplane:storageConnectionString is stored in plaintext in the stack's config");
  });
  it("names the one plaintext entry of a map, with --path", () => {
    expect(check([{ key: 'pushplane:apiTokens["acme/demo"]', kind: "plaintext", file: "Pulumi.prod.yaml" }])).toEqual([
      "pushplane:apiTokens[\"acme/demo\"] is stored in plaintext in Pulumi.prod.yaml: anyone who can read it can use it. Set it again as a secret: `pulumi config set --secret --path 'pushplane:apiTokens[\"acme/demo\"]' <value>`",
    ]);
  });
  it("stops a credential written in Pulumi.yaml, even when the stack's config holds it as a secret", () => {
    expect(check([...happy.credentials, { key: "pushplane:apiToken", kind: "plaintext", file: "Pulumi.yaml" }])).toEqual([
      "pushplane:apiToken is written in plaintext in Pulumi.yaml, which is committed with the code: remove it there and set it in the stack's config as a secret (`pulumi config set --secret 'pushplane:apiToken' <value>`)",
    ]);
  });
  it("says when it cannot tell", () => expect(check([{ key: "pushplane:apiToken", kind: "unknown" }])[0]).toContain("could not tell whether it is a secret"));
  it("ignores other resource types and resources without the facts", () => {
    expect(check([{ key: "pushplane:apiToken", kind: "plaintext" }], "random:index:RandomString")).toEqual([]);
    expect(violations(newConfigCredentialsSecret(), AUDIENCE, { name: "us" })).toEqual([]);
  });
  it("says a problem once however many resources carry it", () => {
    const policy = newConfigCredentialsSecret();
    const plaintext = props({ credentials: [{ key: "pushplane:apiToken", kind: "plaintext" }] });
    expect([...violations(policy, AUDIENCE, plaintext), ...violations(policy, AUDIENCE, plaintext)]).toHaveLength(1);
  });
});

describe("config-endpoint-https", () => {
  const check = (endpoint: string) => violations(newConfigEndpointHttps(), AUDIENCE, props({ endpoint }));
  it("passes https anywhere and http to this machine", () => {
    for (const endpoint of ["https://push.example.com", "https://10.0.0.5:8443", "http://127.0.0.1:8080", "http://127.9.9.9", "http://localhost:3000", "http://LOCALHOST", "http://[::1]:8080"]) {
      expect(check(endpoint), endpoint).toEqual([]);
    }
  });
  it("stops plain http to any other host, naming the endpoint", () => {
    expect(check("http://push.example.com")).toEqual([
      "pushplane:endpoint 'http://push.example.com' sends the API token unencrypted over the network: use https:// (plain http only to localhost or a loopback address)",
    ]);
    // Not loopback, however written: the unspecified address, a private one, loopback in IPv4-mapped IPv6 form.
    for (const endpoint of ["http://0.0.0.0:8080", "http://10.0.0.5", "http://[::ffff:127.0.0.1]", "http://localhost.example.com", "http://localhost@evil.example"]) {
      expect(check(endpoint), endpoint).toHaveLength(1);
    }
    // Loopback by RFC 6761, but a resolver that does not know it asks DNS: the token could go anywhere.
    for (const endpoint of ["http://api.localhost", "http://localhost."]) expect(check(endpoint), endpoint).toHaveLength(1);
  });
  it("stops other schemes and text that is not a URL", () => {
    expect(check("ftp://push.example.com")[0]).toContain("over ftp:");
    expect(check("push.example.com")[0]).toBe("pushplane:endpoint 'push.example.com' is not a URL: set it to the service's https:// address");
  });
});
