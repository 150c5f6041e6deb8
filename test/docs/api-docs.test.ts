/**
 * docs/api.md is generated from the source by scripts/api-docs.ts: a signature or TSDoc change
 * without regenerating would ship a reference that disagrees with the code. And the layers users
 * program against (the gsk_* layer in src/gsk, the idiomatic layer in src/api) must say what each
 * export does: an undocumented one shows up in the reference as a bare signature.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import { describe, expect, it } from "vitest";

import { API_DOCS_PATH, apiSymbols, renderApiDocs, type ApiSymbolInfo } from "../../scripts/api-docs.js";

const root = fileURLToPath(new URL("../../", import.meta.url));

// Building the program and the checker takes a few seconds: once each for the file.
let symbols: ApiSymbolInfo[] | undefined;
let rendered: string | undefined;
function allSymbols(): ApiSymbolInfo[] {
  symbols ??= apiSymbols();
  return symbols;
}
function markdown(): string {
  rendered ??= renderApiDocs();
  return rendered;
}

const TOP_LEVEL = new Set<ApiSymbolInfo["kind"]>(["function", "class", "interface", "type", "variable"]);

describe("docs/api.md", () => {
  it("is generated: renderApiDocs() equals the file (else run `npx tsx scripts/api-docs.ts`)", () => {
    const onDisk = readFileSync(`${root}${API_DOCS_PATH}`, "utf8");
    expect(markdown() === onDisk, `${API_DOCS_PATH} is stale: run npx tsx scripts/api-docs.ts`).toBe(true);
  });

  it("lists no generated constant, and links the pages that do", () => {
    const text = markdown();
    expect(text).not.toMatch(/#### .*`(GSK_|GSKX_|CERT_)[A-Z0-9_]+`/);
    for (const page of ["constants.md", "attributes.md", "return-codes.md"]) expect(text).toContain(`](${page})`);
  });

  it("covers both entries and the layers' main exports", () => {
    const names = new Set(allSymbols().map((s) => `${s.module}:${s.name}`));
    for (const name of [
      "gskit-tls:gsk_environment_open",
      "gskit-tls:gsk_secure_soc_read",
      "gskit-tls:QsoWaitForIOCompletion",
      "gskit-tls:Environment",
      "gskit-tls:Environment.open",
      "gskit-tls:Session.duplex",
      "gskit-tls:EnvironmentOptions.dangerousPassthru",
      "gskit-tls:GskError",
      "gskit-tls/tools:openKeyStore",
      "gskit-tls/tools:ApplicationRegistry.lookup",
    ]) {
      expect(names.has(name), name).toBe(true);
    }
  });
});

describe("TSDoc of the public layers", () => {
  it("every export of the gsk_* layer (src/gsk) and of the idiomatic layer (src/api) has a doc comment", () => {
    const missing = allSymbols()
      .filter((s) => TOP_LEVEL.has(s.kind) && (s.file.startsWith("src/gsk/") || s.file.startsWith("src/api/")) && !s.documented)
      .map((s) => `${s.name} (${s.file})`);
    expect(missing, `exports without TSDoc: ${missing.join(", ")}`).toEqual([]);
  });

  it("every function, method, accessor and option of the idiomatic layer has a doc comment", () => {
    const missing = allSymbols()
      .filter((s) => s.file.startsWith("src/api/") && !s.documented)
      .map((s) => `${s.kind} ${s.name} (${s.file})`);
    expect(missing, `idiomatic-layer symbols without TSDoc: ${missing.join(", ")}`).toEqual([]);
  });
});
