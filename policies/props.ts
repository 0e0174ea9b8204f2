// What a policy sees of a pushplane resource: the inputs as the program wrote them (from the
// resource's declaration), any of them missing when computed from a resource not created yet.
import type { GivenOf, RESOURCE_DECLARATIONS, ResourceKind } from "../domain/index.ts";

export type PropsOf<K extends ResourceKind> = Partial<GivenOf<(typeof RESOURCE_DECLARATIONS)[K]>>;
