// The reliability suite (`npm run test:reliability`): fuzzing through the real HTTP server, poison
// inputs, several processes on one store, kill -9 and restart, black-hole endpoints, and `pulumi up`
// through a faulty proxy. Slower than the unit suites; run by .ci/run after `npm test`.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/reliability/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
  },
});
