/**
 * The exported constants, src/index.ts's constant block and the docs are generated from the
 * tables (src/codes.ts, src/attributes.ts, src/values.ts): a table edit without
 * `npm run generate` would ship constants and docs that disagree with the code.
 */
import { describe, expect, it } from "vitest";

import { staleFiles } from "../../scripts/generate.js";

describe("generated files", () => {
  it("are fresh: constants and docs match the tables (else run `npm run generate`)", () => {
    expect(staleFiles()).toEqual([]);
  });
});
