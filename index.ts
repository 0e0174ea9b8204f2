// The quickstart stack: the example audiences of the seeds (Using the Push API), managed by pulumi.
import { Audience } from "./provider/index.ts";

const usUsers = new Audience("us-users", {
  definition: "carrierCountry eq 'US'",
  description: "Users in the United States",
});

const dogLovers = new Audience("dog-lovers", {
  definition: "dog-lover eq true and dog-breed eq 'Golden Retriever'",
  description: "Dog lovers with a golden retriever",
  customProperties: { "dog-lover": "boolean", "dog-breed": "string" },
});

export const audiences = {
  usUsers: { name: usUsers.name, definition: usUsers.normalizedDefinition, state: usUsers.state, estimatedCount: usUsers.estimatedCount },
  dogLovers: { name: dogLovers.name, definition: dogLovers.normalizedDefinition, state: dogLovers.state, estimatedCount: dogLovers.estimatedCount },
};
