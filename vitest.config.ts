import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  // Examples import the package by name, as users do; in the repository that is the source.
  resolve: {
    alias: [
      { find: /^gskit-tls\/tools$/, replacement: fileURLToPath(new URL("./src/tools.ts", import.meta.url)) },
      { find: /^gskit-tls$/, replacement: fileURLToPath(new URL("./src/index.ts", import.meta.url)) },
    ],
  },
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
