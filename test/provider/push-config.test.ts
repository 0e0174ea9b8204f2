import { beforeAll, describe, expect, it } from "vitest";
import { secretFingerprint } from "../../domain/index.ts";
import { pushConfigProvider, type PushConfigInputs, type PushConfigOutputs } from "../../provider/push-config.ts";
import { configure } from "../../provider/settings.ts";

beforeAll(() => {
  const values: Record<string, string> = { "pushplane:endpoint": "http://127.0.0.1:9", "pushplane:apiToken": "pp_x", "pushplane:owner": "acme", "pushplane:app": "demo" };
  configure({ get: (k) => values[k], require: (k) => values[k]! });
});

const SERVER_KEY = "AAAA-fcm-server-key-0123456789";
const apns = { keyId: "ABCDE12345", teamId: "TEAM123456", token: "-----BEGIN PRIVATE KEY-----MIGTAgEAMBMGByqGSM49AgEGCCqGSM49", endpointType: "production" };

describe("PushConfig check", () => {
  it("accepts FCM and APNs, filling owner/app and the APNs endpoint default", async () => {
    expect(await pushConfigProvider.check({}, { fcm: { serverKey: SERVER_KEY } })).toEqual({ inputs: { owner: "acme", app: "demo", fcm: { serverKey: SERVER_KEY }, adopt: false } });
    const { endpointType: _, ...withoutEndpoint } = apns;
    expect((await pushConfigProvider.check({}, { apns: withoutEndpoint })).inputs?.apns?.endpointType).toBe("production");
  });

  it.each([
    [{}, "apns", "set exactly one of apns or fcm"],
    [{ fcm: { serverKey: SERVER_KEY }, apns }, "fcm", "set exactly one of apns or fcm"],
    [{ apns: { ...apns, keyId: "short" } }, "apns", "apns.keyId: must be the 10-character APNs key id"],
    [{ apns: { ...apns, teamId: "t" } }, "apns", "apns.teamId: must be the 10-character Apple team id"],
    [{ fcm: { serverKey: "short" } }, "fcm", "fcm.serverKey: Too small"],
  ])("%j fails on %s", async (news, property, reason) => {
    const { failures } = await pushConfigProvider.check({}, news);
    expect(failures).toEqual([{ property, reason: expect.stringContaining(reason) }]);
  });

  it("never repeats the credential in a failure", async () => {
    const secret = "tiny-secret";
    const { failures } = await pushConfigProvider.check({}, { fcm: { serverKey: secret } });
    expect(JSON.stringify(failures)).not.toContain(secret);
  });
});

describe("PushConfig diff", () => {
  const inputs: PushConfigInputs = { owner: "acme", app: "demo", fcm: { serverKey: SERVER_KEY }, adopt: false };
  const outputs: PushConfigOutputs = { ...inputs, type: "gcm_config", maskedSecret: "****6789", secretFingerprint: secretFingerprint(SERVER_KEY) };

  it("no change for the same key", async () => expect(await pushConfigProvider.diff("acme/demo", outputs, inputs)).toMatchObject({ changes: false }));
  it("a new key updates in place", async () =>
    expect(await pushConfigProvider.diff("acme/demo", outputs, { ...inputs, fcm: { serverKey: `${SERVER_KEY}-rotated` } })).toMatchObject({ changes: true, replaces: [] }));
  it("a key changed out of band (refreshed fingerprint) updates", async () =>
    expect(await pushConfigProvider.diff("acme/demo", { ...outputs, secretFingerprint: "0000000000000000" }, inputs)).toMatchObject({ changes: true }));
  it("another app replaces", async () => expect(await pushConfigProvider.diff("acme/demo", outputs, { ...inputs, app: "other" })).toMatchObject({ replaces: ["app"] }));
});
