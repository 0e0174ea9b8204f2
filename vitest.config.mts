// Test runner settings: unit suites run in parallel; the engine suite runs real `pulumi` commands
// and gets long timeouts. Nothing is skipped: a missing engine fails the e2e suite with a message.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The reliability suite has its own command and config (vitest.reliability.config.mts).
    exclude: ["test/reliability/**", "**/node_modules/**"],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
