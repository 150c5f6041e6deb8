/**
 * Hostile files: a mutation fuzzer (fixed seed, our own PRNG; bit flips, byte sets, boundary
 * bytes, truncations, insertions, chunk duplication, 1–4 stacked per mutant) over every file
 * format the library reads — PKCS#12 (PBES2/AES and legacy 3DES), PEM bundles (clear and
 * encrypted keys), stash files (v1 and v8), CMS key databases (v6 and v4, with and without the
 * password) and the application registry's JSON.
 *
 * Every mutant must either parse or fail with a GskError whose code is in the return-code table:
 * never another exception, never a hang (the parsers run in a worker thread watched per mutant),
 * never an allocation bomb (the worker's heap is capped and its memory sampled per mutant).
 *
 * Budget: each format is bounded by count (2,000) AND time (10 s); ~15 s in all on 2 cores.
 */
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { RC } from "../../src/codes.js";
import { GskError } from "../../src/errors.js";
import { ApplicationRegistry } from "../../src/registry/registry.js";
import { FUZZ_FORMATS, fuzzSeeds, mutantRng, mutate, runFuzz, type FuzzReport } from "./helpers.js";

const SEED = 0x6b736b;
const COUNT = 2_000;
const BUDGET_MS = 10_000;
const PER_MUTANT_MS = 5_000;
/** A parser that keeps what it reads of a few-KiB file needs nothing near this. */
const MEMORY_BOUND = 128 * 1024 * 1024;

const reports: FuzzReport[] = [];
afterAll(() => {
  const total = reports.reduce((n, r) => n + r.mutants, 0);
  for (const r of reports) {
    console.log(
      `fuzz ${r.format}: ${String(r.mutants)} mutants in ${String(r.elapsedMs)} ms (stopped by ${r.stoppedBy}); parsed ${String(r.parsed)}; codes ${JSON.stringify(r.codes)}; slowest ${r.slowestMs.toFixed(1)} ms; memory growth ${(r.memoryGrowth / 1048576).toFixed(1)} MiB`,
    );
  }
  console.log(`fuzz total: ${String(total)} mutants`);
});

describe("mutation fuzzing of every file format the library reads", () => {
  it.each(FUZZ_FORMATS.map((f) => [f]))("%s: every mutant parses or fails with a documented GskError", async (format) => {
    const report = await runFuzz(format, { count: COUNT, budgetMs: BUDGET_MS, perMutantMs: PER_MUTANT_MS, seed: SEED });
    reports.push(report);
    expect(report.failures, `replay with mutate(seed, mutantRng(${String(SEED)}, index)) on fuzzSeeds("${format}")`).toEqual([]);
    expect(report.stoppedBy === "count" || report.stoppedBy === "time").toBe(true);
    // Count-bounded and time-bounded: on a loaded machine the time bound may stop it first, but
    // never before a meaningful number of mutants.
    expect(report.mutants).toBeGreaterThanOrEqual(report.stoppedBy === "count" ? COUNT : 300);
    expect(report.slowestMs).toBeLessThan(PER_MUTANT_MS);
    expect(report.memoryGrowth).toBeLessThan(MEMORY_BOUND);
    // Hostile input is the file's fault, never "internal": the codes say what to fix.
    expect(Object.keys(report.codes).map(Number)).not.toContain(RC.GSK_INTERNAL_ERROR);
  }, 60_000);
});

describe("the fuzz harness itself", () => {
  it("catches a parser that hangs (synchronously) and one that throws something other than a GskError", async () => {
    // The bound is generous: the first mutant also pays for the worker's start, which on a loaded
    // 2-core machine can exceed half a second.
    const hang = await runFuzz("stash", { count: 20, budgetMs: 15_000, perMutantMs: 3_000, seed: SEED, selfTest: "hang" });
    expect(hang.stoppedBy).toBe("hang");
    expect(hang.failures[0]!.error).toMatch(/mutant 3 ran longer than 3000 ms/);
    const thrown = await runFuzz("stash", { count: 20, budgetMs: 10_000, perMutantMs: 5_000, seed: SEED, selfTest: "throw" });
    expect(thrown.failures).toEqual([expect.objectContaining({ index: 3, error: "TypeError: self-test: a parser bug" })]);
  }, 30_000);
});

describe("a corrupt registry never loses the last good one", () => {
  it("load fails with 202 and changes nothing; the loaded registry keeps its definitions and refuses to write over the file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gskit-registry-fuzz-"));
    try {
      const file = join(dir, "applications.json");
      const registry = await ApplicationRegistry.load(file);
      await registry.register({ id: "GOOD_SERVER", type: "server", certificates: ["server"], clientAuth: "required" });
      await registry.register({ id: "GOOD_CLIENT", type: "client", description: "kept" });
      const good = await readFile(file);
      // The operator's copy of the last good file, kept beside it.
      const copy = join(dir, "applications.json.good");
      await writeFile(copy, good);
      const definitions = registry.list();
      const filesBefore = (await readdir(dir)).sort();

      const [seed] = await fuzzSeeds("registry");
      let corrupt = 0;
      for (let i = 0; corrupt < 100 && i < 1_000; i++) {
        const { data } = mutate(i % 2 === 0 ? good : seed!, mutantRng(SEED, i));
        await writeFile(file, data);
        let loaded: ApplicationRegistry | undefined;
        try {
          loaded = await ApplicationRegistry.load(file);
        } catch (error) {
          expect(error).toBeInstanceOf(GskError);
          expect((error as GskError).code).toBe(RC.GSK_KEYRING_OPEN_ERROR);
          expect((error as GskError).message).toContain(file);
        }
        if (loaded) continue; // a mutation that left a valid registry
        corrupt++;
        // Neither an edit nor a save through the registry loaded before writes over the damage.
        await expect(registry.register({ id: `NEW_${String(i)}`, type: "client" })).rejects.toMatchObject({ code: RC.GSK_KEYRING_OPEN_ERROR });
        await expect(registry.save()).rejects.toMatchObject({ code: RC.GSK_KEYRING_OPEN_ERROR });
        expect((await readFile(file)).equals(data)).toBe(true);
        expect(registry.list()).toEqual(definitions);
      }
      expect(corrupt).toBe(100);
      // No temporary or lock file was left behind, and the good copy is as it was.
      expect((await readdir(dir)).sort()).toEqual(filesBefore);
      expect((await readFile(copy)).equals(good)).toBe(true);
      // Putting the good copy back gives back every definition.
      await writeFile(file, await readFile(copy));
      expect((await ApplicationRegistry.load(file)).list()).toEqual(definitions);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
