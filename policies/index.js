// Entry point the Pulumi engine loads for this policy pack. The engine's policy runner always
// registers ts-node; tsx, registered after it, takes over .ts files, so the pack's TypeScript
// (with the project's .ts import style) runs the same way as the programs and the service.
require("tsx/cjs/api").register();
require("./pack.ts");
