// The azure-native example under Pulumi's mocks: no Azure account and no azure-native plugin here,
// so this checks what the program declares (the account's hardening, the lifecycle backstop, the
// account's connection string reaching the pushplane resources, and only as a secret).
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";

interface Declared {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}
const declared: Declared[] = [];
const invoked: { token: string; inputs: Record<string, unknown> }[] = [];
const ACCOUNT = "exportsacct";
const KEY = Buffer.from("mock-account-key").toString("base64");

const valueOf = <T>(output: pulumi.Output<T>): Promise<T> => new Promise((resolve) => output.apply(resolve));
const byType = (suffix: string) => declared.filter((resource) => resource.type.endsWith(suffix));

let program: typeof import("../../examples/azure-storage-account/index.ts");

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        declared.push({ type: args.type, name: args.name, inputs: args.inputs });
        const state: Record<string, unknown> = { ...args.inputs };
        if (args.type === "azure-native:storage:StorageAccount") Object.assign(state, { name: ACCOUNT, primaryEndpoints: { blob: `https://${ACCOUNT}.blob.core.windows.net/` } });
        if (args.type === "azure-native:resources:ResourceGroup") Object.assign(state, { name: "pushplane-exports-rg" });
        if (args.type.endsWith("pushplane:StorageContainer")) Object.assign(state, { url: `https://${ACCOUNT}.blob.core.windows.net/${args.inputs.name}` });
        if (args.type.endsWith("pushplane:ExportJob")) Object.assign(state, { jobId: "job-1", nextRunTime: "2026-11-24T02:00:00.000Z" });
        return { id: `${args.name}-id`, state };
      },
      call(args) {
        invoked.push({ token: args.token, inputs: args.inputs });
        if (args.token === "azure-native:storage:listStorageAccountKeys") return { keys: [{ keyName: "key1", value: KEY, permissions: "Full" }] };
        return {};
      },
    },
    "azure-storage-account",
    "test",
    false,
  );
  program = await import("../../examples/azure-storage-account/index.ts");
  await valueOf(program.nightlyJob.id as pulumi.Output<string>);
}, 60_000);

describe("examples/azure-storage-account (azure-native, under mocks)", () => {
  it("declares a storage account made for exports: private, HTTPS only, TLS 1.2, shared key for SAS", () => {
    const [account] = byType("storage:StorageAccount");
    expect(account?.inputs).toMatchObject({
      kind: "StorageV2",
      sku: { name: "Standard_ZRS" },
      allowBlobPublicAccess: false,
      enableHttpsTrafficOnly: true,
      minimumTlsVersion: "TLS1_2",
      allowSharedKeyAccess: true,
      resourceGroupName: "pushplane-exports-rg",
    });
  });

  it("backs the service's retention sweep with a lifecycle rule a day after the container's retention", () => {
    const [policy] = byType("storage:ManagementPolicy");
    const [container] = byType("pushplane:StorageContainer");
    expect(policy?.inputs).toMatchObject({ accountName: ACCOUNT, managementPolicyName: "default" });
    const rule = (policy?.inputs.policy as { rules: { definition: { filters: { prefixMatch: string[] }; actions: { baseBlob: { delete: { daysAfterModificationGreaterThan: number } } } } }[] }).rules[0]!;
    expect(rule.definition.filters.prefixMatch).toEqual([`${container?.inputs.name}/`]);
    expect(rule.definition.actions.baseBlob.delete.daysAfterModificationGreaterThan).toBe((container?.inputs.retentionDays as number) + 1);
  });

  it("hands the new account's connection string to the container and the SAS token, from the account's keys, as a secret", () => {
    expect(invoked).toContainEqual({ token: "azure-native:storage:listStorageAccountKeys", inputs: { resourceGroupName: "pushplane-exports-rg", accountName: ACCOUNT } });
    const expected = `DefaultEndpointsProtocol=https;AccountName=${ACCOUNT};AccountKey=${KEY};EndpointSuffix=core.windows.net`;
    // What the engine receives is wrapped as a secret (Pulumi's secret signature), so state encrypts it.
    const secret = { [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig, value: expected };
    for (const type of ["pushplane:StorageContainer", "pushplane:ContainerSasToken"]) {
      expect(byType(type)[0]?.inputs.storageConnectionString).toEqual(secret);
    }
  });

  it("keeps the connection string secret in the resource's outputs too", async () => {
    // The StorageContainer marks it secret whatever it is given; Pulumi then encrypts it in state.
    const { StorageContainer } = await import("../../provider/index.ts");
    const probe = new StorageContainer("probe-exports", { storageConnectionString: "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=b" });
    expect(await pulumi.isSecret((probe as unknown as { storageConnectionString: pulumi.Output<string> }).storageConnectionString)).toBe(true);
  });

  it("exports the account, its blob endpoint, the container and the nightly job", async () => {
    expect(await valueOf(program.storageAccount)).toBe(ACCOUNT);
    expect(await valueOf(program.blobEndpoint)).toBe(`https://${ACCOUNT}.blob.core.windows.net/`);
    expect(await valueOf(program.container)).toBe(`https://${ACCOUNT}.blob.core.windows.net/device-exports`);
    expect(byType("pushplane:ExportJob")[0]?.inputs).toMatchObject({ kind: "device_export", schedule: "0 2 * * *", prefix: "nightly/" });
  });
});
