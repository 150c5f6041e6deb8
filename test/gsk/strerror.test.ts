/**
 * gsk_strerror (spec §1, §4): text for every code of the table, a fixed fallback naming the
 * number for anything else (errno values included), and never a throw, whatever it is given.
 */
import { describe, expect, it } from "vitest";

import { RETURN_CODES, constantNames, returnCodeText, type ReturnCodeRow } from "../../src/codes.js";
import * as api from "../../src/index.js";
import { gsk_strerror } from "../../src/index.js";

const rows = RETURN_CODES as readonly ReturnCodeRow[];
const fallback = (n: unknown): string => `Unknown GSKit return code ${String(n)}.`;

describe("gsk_strerror", () => {
  it.each(rows.map((r) => [r.code, constantNames(r)[0]!, r.text] as const))("%i (%s) has its table text", (code, _name, text) => {
    const got = gsk_strerror(code);
    expect(typeof got).toBe("string");
    expect(got.trim().length).toBeGreaterThan(0);
    expect(got).toBe(text);
    expect(got).not.toBe(fallback(code));
  });

  it("gives the same text through every exported spelling of a code", () => {
    const exported = api as unknown as Record<string, unknown>;
    for (const row of rows) {
      for (const name of constantNames(row)) {
        expect(exported[name], name).toBe(row.code);
        expect(gsk_strerror(exported[name]), name).toBe(row.text);
      }
    }
  });

  it.each([
    ["an errno value (EPIPE)", 32],
    ["an errno value (ECONNREFUSED)", 111],
    ["an errno value (ETIMEDOUT)", 110],
    ["a number in a gap of the table", 600],
    ["a large number", 575009],
    ["a negative number", -1],
    ["a fraction", 1.5],
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
  ])("%s gets the fixed fallback naming the number", (_what, n) => {
    expect(rows.some((r) => r.code === n)).toBe(false);
    expect(gsk_strerror(n)).toBe(fallback(n));
    expect(gsk_strerror(n)).toContain(String(n));
    expect(returnCodeText(n)).toBe(fallback(n));
  });

  it("an errno value that is also a GSKit code reads as the GSKit code, as on IBM i", () => {
    // Linux ECONNRESET is 104, which IBM numbers GSK_KEYFILE_DUPLICATE_KEY: gsk_strerror cannot
    // tell them apart, so a caller with an errno must not pass it here (gskx_errno names it).
    expect(api.GSK_KEYFILE_DUPLICATE_KEY).toBe(104);
    expect(gsk_strerror(104)).toBe(returnCodeText(api.GSK_KEYFILE_DUPLICATE_KEY));
    expect(gsk_strerror(104)).not.toBe(fallback(104));
  });

  it.each([
    ["undefined", undefined],
    ["null", null],
    ["a string", "406"],
    ["a boolean", true],
    ["an object", { code: 406 }],
    ["an array", [406]],
    ["a bigint", 406n],
    ["a symbol", Symbol("rc")],
    ["an object without prototype", Object.create(null) as object],
  ])("%s does not throw and gets the fixed fallback", (_what, value) => {
    let text: unknown;
    expect(() => {
      text = gsk_strerror(value);
    }).not.toThrow();
    expect(typeof text).toBe("string");
    expect(text).toMatch(/^Unknown GSKit return code .*\.$/);
    // The known text of 406 must not leak through a non-number that merely looks like it.
    expect(text).not.toBe(gsk_strerror(406));
  });

  it("codes are unique and names are unique across all spellings", () => {
    const codes = rows.map((r) => r.code);
    expect(new Set(codes).size).toBe(codes.length);
    const names = rows.flatMap((r) => constantNames(r));
    expect(new Set(names).size).toBe(names.length);
    const texts = rows.map((r) => r.text);
    expect(texts.every((t) => t.trim().length > 0)).toBe(true);
  });

  it("IBM i rows carry all three spellings and project rows the GSKX_ prefix", () => {
    for (const row of rows) {
      const names = constantNames(row);
      if (row.ibmi) expect(names).toEqual([`GSK_IBMI_${row.name}`, `GSK_OS400_${row.name}`, `GSK_AS400_${row.name}`]);
      else expect(names).toEqual([row.name]);
      if (row.project) expect(row.name).toMatch(/^GSKX_/);
      else expect(names[0]).toMatch(/^GSK_/);
    }
  });
});
