// Configuration policies: the stack's credentials are encrypted in its config, and the provider
// talks to the service over HTTPS unless the service is on this machine. A policy pack is given no
// stack config, so these read what the program recorded on each pushplane resource (STACK_FACTS_INPUT:
// the endpoint's origin and which credential keys are secret, never a credential) and report once.
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { isLoopbackHost, PROVIDER_CONFIG, RESOURCE_KINDS, resourceType, STACK_FACTS_INPUT, type StackFacts } from "../domain/index.ts";

const PUSHPLANE_TYPES = new Set(RESOURCE_KINDS.map(resourceType));

/** A stack-wide rule judged from the first pushplane resource that carries the facts, each problem said once per run. */
function onStackFacts(judge: (facts: StackFacts) => string[]): ResourceValidationPolicy["validateResource"] {
  const said = new Set<string>();
  return (args, reportViolation) => {
    if (!PUSHPLANE_TYPES.has(args.type)) return;
    const facts = (args.props as Record<string, unknown>)[STACK_FACTS_INPUT] as StackFacts | undefined;
    if (!facts) return;
    for (const problem of judge(facts)) {
      if (said.has(problem)) continue;
      said.add(problem);
      reportViolation(problem);
    }
  };
}

/** A factory: each policy object says each problem once (tests make one per case). */
export const newConfigCredentialsSecret = (): ResourceValidationPolicy => ({
  name: "config-credentials-secret",
  description: "API tokens and storage connection strings in the stack's config are secrets (`pulumi config set --secret`), encrypted in Pulumi.<stack>.yaml rather than readable by anyone with the repository.",
  enforcementLevel: "mandatory",
  validateResource: onStackFacts((facts) =>
    facts.credentials.flatMap(({ key, kind, file }) => {
      const setting = key.replace(/\[.*$/, "");
      const path = key === setting ? "" : " --path";
      if (kind === "plaintext" && file === "Pulumi.yaml") {
        return [`${key} is written in plaintext in Pulumi.yaml, which is committed with the code: remove it there and set it in the stack's config as a secret (\`pulumi config set --secret${path} '${key}' <value>\`)`];
      }
      if (kind === "plaintext") {
        return [`${key} is stored in plaintext in ${file ?? "the stack's config"}: anyone who can read it can use it. Set it again as a secret: \`pulumi config set --secret${path} '${key}' <value>\``];
      }
      if (kind === "unknown") return [`${key}: could not tell whether it is a secret (this Pulumi SDK does not say); make sure it was set with \`pulumi config set --secret\``];
      return [];
    }),
  ),
});
export const configCredentialsSecret = newConfigCredentialsSecret();

export const newConfigEndpointHttps = (): ResourceValidationPolicy => ({
  name: "config-endpoint-https",
  description: `The service endpoint (${PROVIDER_CONFIG.endpoint.key}) is HTTPS unless it is on this machine (localhost or a loopback address): API tokens travel with every call.`,
  enforcementLevel: "mandatory",
  validateResource: onStackFacts(({ endpoint }) => {
    if (endpoint === undefined) return [];
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      return [`${PROVIDER_CONFIG.endpoint.key} '${endpoint}' is not a URL: set it to the service's https:// address`];
    }
    if (url.protocol === "https:" || (url.protocol === "http:" && isLoopbackHost(url.hostname))) return [];
    return [
      `${PROVIDER_CONFIG.endpoint.key} '${endpoint}' sends the API token ${url.protocol === "http:" ? "unencrypted over the network" : `over ${url.protocol}`}: use https:// (plain http only to localhost or a loopback address)`,
    ];
  }),
});
export const configEndpointHttps = newConfigEndpointHttps();
