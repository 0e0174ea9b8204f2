// bench/engine-overhead.ts's program: `bench:apps` apps × `bench:perApp` audiences (plus `bench:extra`
// more in the first app), as pushplane Audiences (`bench:mode` pushplane) or as no-op dynamic
// resources with the same inputs (`bench:mode` noop, the engine's floor).
import * as pulumi from "@pulumi/pulumi";
import { Audience } from "@pushplane/pulumi";

const config = new pulumi.Config("bench");
const mode = config.require("mode");
const apps = config.requireNumber("apps");
const perApp = config.requireNumber("perApp");
const extra = config.getNumber("extra") ?? 0;

/** Answers every call at once: what the engine costs with a provider that does nothing. */
const noop: pulumi.dynamic.ResourceProvider = {
  async check(_olds, news) {
    return { inputs: news };
  },
  async diff(_id, olds, news) {
    return { changes: JSON.stringify(olds) !== JSON.stringify({ ...olds, ...news }) };
  },
  async create(inputs) {
    return { id: `${inputs.owner}/${inputs.app}/${inputs.name}`, outs: { ...inputs, estimatedCount: 0 } };
  },
};

class Noop extends pulumi.dynamic.Resource {
  constructor(name: string, props: Record<string, unknown>) {
    super(noop, name, props, {}, "bench", "Noop");
  }
}

for (let a = 0; a < apps; a++) {
  for (let i = 0; i < perApp + (a === 0 ? extra : 0); i++) {
    const inputs = { owner: "bench", app: `app-${a}`, name: `audience-${i}`, definition: `osApiLevel ge ${20 + (i % 15)} and carrierCountry eq 'US'` };
    if (mode === "noop") new Noop(`app-${a}-audience-${i}`, inputs);
    else new Audience(`app-${a}-audience-${i}`, inputs);
  }
}
