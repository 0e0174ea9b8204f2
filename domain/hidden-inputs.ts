// The names of the inputs a pushplane resource carries for the policy pack beside its declared ones.
/**
 * Inputs no declaration lists, which the program or the provider's check adds for the policy pack
 * (a policy pack sees a resource's checked inputs, but never a key starting "__", which the engine
 * keeps to itself). No diff compares them.
 */
export const HIDDEN_INPUTS = {
  /** The program's record of the stack config (provider-config.ts, StackFacts). */
  stackFacts: "_pushplaneStack",
  /** The provider's estimate of a created or redefined audience's devices (impact.ts). */
  estimatedDevices: "_pushplaneEstimatedDevices",
} as const;
