// Audience create and update against a real service whose background counts never run: they return
// the service's size at once (state Calculating) instead of waiting for a full count, so an `up`
// creating many audiences in a large app does not wait for devices × audiences of counting.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ESTIMATE_INPUT, HIDDEN_INPUTS } from "../../domain/index.ts";
import { audienceProvider, type AudienceInputs } from "../../provider/audience.ts";
import { configure } from "../../provider/settings.ts";
import { generateApp } from "../../service/synthetic.ts";
import { startService, type TestService } from "../helpers/service.ts";

let service: TestService;
const key = { owner: "acme", app: "demo" };

beforeAll(async () => {
  service = await startService({ runner: { concurrency: 0 } });
  generateApp(service.services.devices, key, { devices: 400, eventsPerDevice: 0, seed: 5 });
  const values: Record<string, string> = { "pushplane:endpoint": await service.listen(), "pushplane:apiToken": service.token };
  configure({ get: (k) => values[k], require: (k) => values[k]! });
}, 60_000);
afterAll(async () => {
  await service?.close();
});

const inputs = (definition: string): AudienceInputs => ({ ...key, name: "us", definition, description: "", enabled: true, customProperties: {}, adopt: false });

describe("Audience create and update", () => {
  it("answer with the service's size without waiting for the full count", async () => {
    const us = await service.services.counter.count(key, "carrierCountry eq 'US'", {});
    const created = await audienceProvider.create(inputs("carrierCountry eq 'US'"));
    expect(created.outs).toMatchObject({ state: "Calculating", estimatedCount: us.estimated });

    const wider = await service.services.counter.count(key, "carrierCountry eq 'US' or carrierCountry eq 'CA'", {});
    const updated = await audienceProvider.update!(created.id, created.outs!, inputs("carrierCountry eq 'US' or carrierCountry eq 'CA'"));
    expect(updated.outs).toMatchObject({ state: "Calculating", estimatedCount: wider.estimated });
  });

  it("estimates, for the send-limit policy, whenever whom the audience selects may change: moved to another app or name, enabled again", async () => {
    const us = await service.services.counter.count(key, "carrierCountry eq 'US'", {});
    const olds = { ...inputs("carrierCountry eq 'US'"), normalizedDefinition: "carrierCountry eq 'US'", estimatedCount: 0, state: "Ready" };
    const estimateAfter = async (previous: object) => ((await audienceProvider.check(previous as never, { ...inputs("carrierCountry eq 'US'") })).inputs as unknown as Record<string, unknown>)[ESTIMATE_INPUT];
    expect(await estimateAfter(olds)).toBeUndefined();
    expect(await estimateAfter({ ...olds, app: "small" })).toBe(us.estimated);
    expect(await estimateAfter({ ...olds, name: "old-name" })).toBe(us.estimated);
    expect(await estimateAfter({ ...olds, enabled: false })).toBe(us.estimated);
  });

  it("keeps what the policy pack reads (stack facts, the preview's estimate) out of the outputs: a refresh would show it gone", async () => {
    const hidden = { [HIDDEN_INPUTS.stackFacts]: { endpoint: "http://127.0.0.1:1", credentials: {} }, [HIDDEN_INPUTS.estimatedDevices]: 12 };
    const created = await audienceProvider.create({ ...inputs("carrierCountry eq 'US'"), name: "hidden", ...hidden } as AudienceInputs);
    const read = await audienceProvider.read!(created.id, { ...created.outs!, ...hidden });
    const updated = await audienceProvider.update!(created.id, created.outs!, { ...inputs("carrierCountry eq 'CA'"), name: "hidden", ...hidden } as AudienceInputs);
    for (const outputs of [created.outs, read.props, updated.outs]) for (const name of Object.values(HIDDEN_INPUTS)) expect(outputs).not.toHaveProperty(name);
  });
});
