// Loaded inside Pulumi's dynamic-provider process by provider/stub.ts: the implementations by kind,
// each loaded when a resource of its kind first needs it (the storage kinds bring the Azure SDK,
// which a stack of audiences never pays for).
import type * as pulumi from "@pulumi/pulumi";
import type { ResourceKind } from "../domain/index.ts";
import { configure } from "./settings.ts";
import { INVALID_INPUTS } from "./stub.ts";

type Implementation = Omit<pulumi.dynamic.ResourceProvider, "configure">;

const implementations: Record<ResourceKind, () => Promise<Implementation>> = {
  Audience: async () => (await import("./audience.ts")).audienceProvider,
  PushConfig: async () => (await import("./push-config.ts")).pushConfigProvider,
  StorageContainer: async () => (await import("./storage-container.ts")).storageContainerProvider,
  ContainerSasToken: async () => (await import("./container-sas-token.ts")).containerSasTokenProvider,
  ExportJob: async () => (await import("./export-job.ts")).exportJobProvider,
  ExportConfiguration: async () => (await import("./export-configuration.ts")).exportConfigurationProvider,
  DataExportToken: async () => (await import("./data-export-token.ts")).dataExportTokenProvider,
  DataSubjectRequest: async () => (await import("./data-subject-request.ts")).dataSubjectRequestProvider,
};

export function providerFor(kind: ResourceKind): pulumi.dynamic.ResourceProvider {
  const load = implementations[kind];
  if (!load) throw new Error(`pushplane has no resource kind '${kind}'`);
  let loaded: Promise<Implementation> | undefined;
  const implementation = () => (loaded ??= load());
  const refuse = async (): Promise<never> => {
    throw new Error("the program reported this resource's inputs as invalid; fix them and run again");
  };
  return {
    configure: async (req) => configure(req.config),
    // Inputs the program already reported (stub.ts) are not reported again, and never applied.
    check: async (olds, news) => (news[INVALID_INPUTS] ? { inputs: news } : (await implementation()).check!(olds, news)),
    diff: async (id, olds, news) => (await implementation()).diff!(id, olds, news),
    create: async (inputs) => (inputs[INVALID_INPUTS] ? refuse() : (await implementation()).create(inputs)),
    read: async (id, props) => (await implementation()).read!(id, props),
    update: async (id, olds, news) => {
      if (news[INVALID_INPUTS]) return refuse();
      const { update } = await implementation();
      if (!update) throw new Error(`a pushplane ${kind} is never updated in place; this change should have replaced it`);
      return update(id, olds, news);
    },
    delete: async (id, props) => (await implementation()).delete!(id, props),
  };
}
