import { defineConfig } from "tsup";

export default defineConfig({
  entry: { index: "src/index.ts", tools: "src/tools.ts", "cli/main": "src/cli/main.ts" },
  format: ["esm", "cjs"],
  dts: { entry: { index: "src/index.ts", tools: "src/tools.ts" } },
  sourcemap: true,
  clean: true,
  target: "node20",
  splitting: false,
  shims: true,
});
