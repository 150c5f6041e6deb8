import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Generates the test PKI once per run, before any worker starts (see test/fixtures/generate.ts).
    globalSetup: ["test/global-setup.ts"],
    // TLS handshakes and the PKI generator can take seconds on a loaded 2-core machine.
    testTimeout: 30_000,
    // Separate processes: tests open sockets and set process-wide TLS state.
    pool: "forks",
  },
});
