// Staged rollout: one audience per ring, built from a table, so a pull request that widens a ring
// shows exactly which definition changes. Run it against the demo service:
//   npm run demo            # once, starts the service and writes .pushplane/demo/token
//   cd examples/rollout-audiences && . ../../scripts/env.sh
//   export PULUMI_BACKEND_URL=file://$PWD/../../.pushplane/demo/state PULUMI_CONFIG_PASSPHRASE_FILE=../../.pushplane/demo/passphrase
//   pulumi stack init rollout && pulumi config set pushplane:endpoint http://127.0.0.1:8787
//   pulumi config set --secret pushplane:apiToken "$(cat ../../.pushplane/demo/token)" && pulumi up
import { Audience } from "@pushplane/pulumi";

const rings = [
  { name: "ring-0-staff", definition: "beta-tester eq true and employee eq true" },
  { name: "ring-1-beta", definition: "beta-tester eq true and osApiLevel ge 30" },
  { name: "ring-2-english", definition: "locale eq 'en_US' or locale eq 'en_GB'" },
];

export const audiences = rings.map(
  (ring) =>
    new Audience(ring.name, {
      definition: ring.definition,
      description: `Rollout ${ring.name}`,
      customProperties: { "beta-tester": "boolean", employee: "boolean" },
    }).normalizedDefinition,
);
