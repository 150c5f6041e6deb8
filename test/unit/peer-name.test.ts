import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkServerIdentity } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RC } from "../../src/codes.js";
import { generateKey, issueCertificate, type KeyPair, type SubjectAltNames } from "../../src/pki/index.js";
import {
  checkPeerName,
  classifyPeerName,
  dnsPatternMatches,
  isIpAddress,
  STRICT_CHECK_HOST_OPTIONS,
} from "../../src/trust/peer-name.js";

let key: KeyPair;
const made = new Map<string, X509Certificate>();

/** A self-signed certificate with these SANs (the issuer does not matter to name matching). */
async function certWith(sans: SubjectAltNames | undefined, subject = "CN=peer-name test"): Promise<X509Certificate> {
  const id = JSON.stringify([sans, subject]);
  const hit = made.get(id);
  if (hit) return hit;
  const cert = await issueCertificate({
    subject,
    publicKey: key.publicKey,
    signingKey: key.privateKey,
    ...(sans ? { subjectAltNames: sans } : {}),
  });
  made.set(id, cert);
  return cert;
}

beforeAll(async () => {
  key = await generateKey("ec-p256");
});

type Case = [name: string, sans: SubjectAltNames | undefined, expected: string, matched: string | null];

// Case names follow x509-limbo (webpki/san.py, webpki/cn.py, rfc5280/san.py) and Node's
// test-tls-check-server-identity.js, with this library's strict expectations.
const CASES: Case[] = [
  ["exact_dns_san", { dns: ["example.com"] }, "example.com", "example.com"],
  ["case-insensitive expected", { dns: ["example.com"] }, "EXAMPLE.Com", "example.com"],
  ["case-insensitive SAN", { dns: ["Upper.Example.ORG"] }, "upper.example.org", "Upper.Example.ORG"],
  ["trailing dot ignored", { dns: ["example.com"] }, "example.com.", "example.com"],
  ["mismatch_domain_san", { dns: ["example.com"] }, "example.org", null],
  ["mismatch_subdomain_san", { dns: ["example.com"] }, "www.example.com", null],
  ["leftmost_wildcard_san", { dns: ["*.example.com"] }, "a.example.com", "*.example.com"],
  ["wildcard does not match the bare domain", { dns: ["*.example.com"] }, "example.com", null],
  ["wildcard_match_across_labels_san", { dns: ["*.example.com"] }, "a.b.example.com", null],
  ["wildcard_embedded_leftmost_san (f*)", { dns: ["f*.example.com"] }, "foo.example.com", null],
  ["wildcard_embedded_leftmost_san (*oo)", { dns: ["*oo.example.com"] }, "foo.example.com", null],
  ["wildcard_not_in_leftmost_san", { dns: ["foo.*.example.com"] }, "foo.bar.example.com", null],
  ["double wildcard", { dns: ["*.*.example.com"] }, "a.b.example.com", null],
  ["public_suffix_wildcard_san", { dns: ["*.com"] }, "example.com", null],
  ["single-label wildcard *.test", { dns: ["*.test"] }, "a.test", null],
  ["single-label wildcard *.localhost", { dns: ["*.localhost"] }, "a.localhost", null],
  ["san_wildcard_only", { dns: ["*"] }, "example", null],
  ["wildcard matches A-label", { dns: ["*.example.com"] }, "xn--bcher-kva.example.com", "*.example.com"],
  ["wildcard matches U-label after conversion", { dns: ["*.example.com"] }, "bücher.example.com", "*.example.com"],
  ["IDN: U-label expected, A-label SAN", { dns: ["xn--bcher-kva.example"] }, "bücher.example", "xn--bcher-kva.example"],
  ["IDN: A-label expected, A-label SAN", { dns: ["xn--bcher-kva.example"] }, "xn--bcher-kva.example", "xn--bcher-kva.example"],
  ["IDN: upper-case U-label", { dns: ["xn--bcher-kva.example"] }, "BÜCHER.example", "xn--bcher-kva.example"],
  ["underscore_dns", { dns: ["_srv.example.com"] }, "_srv.example.com", "_srv.example.com"],
  ["no CN fallback (SAN present, CN names the host)", { dns: ["other.example"] }, "peer-name test", null],
  ["exact_localhost_ip_san", { ip: ["127.0.0.1"] }, "127.0.0.1", "127.0.0.1"],
  ["IPv4 mismatch", { ip: ["127.0.0.1"] }, "127.0.0.2", null],
  ["IPv6 ::1", { ip: ["::1"] }, "::1", "::1"],
  ["IPv6 uncompressed expected", { ip: ["::1"] }, "0:0:0:0:0:0:0:1", "::1"],
  ["IPv6 uppercase expected", { ip: ["2001:db8::1"] }, "2001:DB8::1", "2001:db8::1"],
  ["IPv6 non-RFC 5952 expected", { ip: ["2001:db8::1"] }, "2001:0db8:0000::0001", "2001:db8::1"],
  ["IPv6 in brackets", { ip: ["2001:db8::1"] }, "[2001:db8::1]", "2001:db8::1"],
  ["IPv4-mapped IPv6 is not the IPv4 address", { ip: ["10.0.0.1"] }, "::ffff:10.0.0.1", null],
  ["ip_in_dns: an IP is not matched against a DNS SAN", { dns: ["127.0.0.1"] }, "127.0.0.1", null],
  ["a DNS name is not matched against an IP SAN", { ip: ["127.0.0.1"] }, "localhost", null],
  ["ipv4_leading_zeros_mismatch", { ip: ["10.0.0.1"] }, "010.0.0.1", null],
  ["ipv4_hex_mismatch", { ip: ["127.0.0.1"] }, "0x7f.0.0.1", null],
  ["ipv4 short form", { ip: ["127.0.0.1"] }, "127.1", null],
  ["mixed SANs: DNS", { dns: ["a.example"], ip: ["10.1.2.3"] }, "a.example", "a.example"],
  ["mixed SANs: IP", { dns: ["a.example"], ip: ["10.1.2.3"] }, "10.1.2.3", "10.1.2.3"],
  ["email SAN is not a DNS name", { email: ["example.com@example.com"] }, "example.com", null],
  ["URI SAN is not a DNS name", { uri: ["https://example.com/"] }, "example.com", null],
  ["leading dot is not a subdomain pattern", { dns: ["*.example.com"] }, ".example.com", null],
  ["empty label", { dns: ["*.example.com"] }, "a..example.com", null],
  ["wildcard as expected name", { dns: ["*.example.com"] }, "*.example.com", null],
  ["empty expected name", { dns: ["example.com"] }, "", null],
  ["space in expected name", { dns: ["example.com"] }, "example.com ", null],
];

describe("checkPeerName", () => {
  it.each(CASES)("%s", async (_name, sans, expected, matched) => {
    const cert = await certWith(sans);
    const r = checkPeerName(cert, expected);
    if (matched === null) {
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.code).toBe(RC.GSKX_ERROR_PEER_NAME_MISMATCH);
        expect(r.message).toContain(expected === "" ? "empty" : expected.trim());
      }
    } else {
      expect(r).toEqual({ ok: true, matched });
    }
  });

  it("never matches a certificate without subjectAltName, whatever its CN says (no_san)", async () => {
    const cert = await certWith(undefined, "CN=example.com");
    expect(cert.subjectAltName).toBeUndefined();
    const r = checkPeerName(cert, "example.com");
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.code).toBe(RC.GSKX_ERROR_PEER_NAME_MISMATCH);
      expect(r.message).toContain("the certificate has no subjectAltName; the common name is not used (RFC 6125)");
      expect(r.message).toContain("CN=example.com");
      expect(r.message).toContain("DNS:example.com");
    }
    // node:tls's own check would have accepted it through the CN: that is what this module replaces.
    expect(checkServerIdentity("example.com", cert.toLegacyObject())).toBeUndefined();
  });

  it("rejects a partial wildcard that node:tls's checkServerIdentity accepts", async () => {
    const cert = await certWith({ dns: ["f*.example.com"] });
    expect(checkServerIdentity("foo.example.com", cert.toLegacyObject())).toBeUndefined();
    expect(checkPeerName(cert, "foo.example.com").ok).toBe(false);
  });

  it("names the expected name, its kind, the SANs presented and the fix in the message", async () => {
    const cert = await certWith({ dns: ["a.example.com", "b.example.com"], ip: ["10.0.0.1"] });
    const r = checkPeerName(cert, "c.example.com");
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.message).toContain("expected DNS name 'c.example.com'");
    expect(r.message).toContain("DNS:a.example.com, DNS:b.example.com, IP:10.0.0.1");
    expect(r.message).toContain("connect with the name the certificate was issued for, or reissue it with a SAN for DNS:c.example.com");

    const ip = checkPeerName(cert, "10.0.0.2");
    expect(ip.ok).toBe(false);
    if (!ip.ok) {
      expect(ip.message).toContain("expected IP address '10.0.0.2'");
      expect(ip.message).toContain("SAN for IP:10.0.0.2");
    }
  });

  it("explains near misses", async () => {
    const wild = await certWith({ dns: ["*.example.com"] });
    const bare = checkPeerName(wild, "example.com");
    expect(!bare.ok && bare.message).toContain("does not match the bare domain");
    const deep = checkPeerName(wild, "a.b.example.com");
    expect(!deep.ok && deep.message).toContain("matches exactly one label");
    const partial = checkPeerName(await certWith({ dns: ["f*.example.com"] }), "foo.example.com");
    expect(!partial.ok && partial.message).toContain("must be the whole left-most label");
    const suffix = checkPeerName(await certWith({ dns: ["*.com"] }), "example.com");
    expect(!suffix.ok && suffix.message).toContain("at least two labels after");
    const ipInDns = checkPeerName(await certWith({ dns: ["127.0.0.1"] }), "127.0.0.1");
    expect(!ipInDns.ok && ipInDns.message).toContain("matched only against IP SANs");
    const idn = checkPeerName(await certWith({ dns: ["example.com"] }), "bücher.example");
    expect(!idn.ok && idn.message).toContain("A-label 'xn--bcher-kva.example'");
  });
});

describe("IDN: a SAN holding a U-label is never matched", () => {
  let dir: string;
  let cert: X509Certificate;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "gsk-peer-name-"));
    // OpenSSL writes the UTF-8 bytes into the IA5String as given: an invalid dNSName.
    writeFileSync(join(dir, "ext.cnf"), "[req]\ndistinguished_name=dn\n[dn]\n[v]\nsubjectAltName=@alt\n[alt]\nDNS.1=bücher.example\n");
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
      "-keyout", join(dir, "k.pem"), "-out", join(dir, "c.pem"), "-subj", "/CN=idn", "-days", "1",
      "-config", join(dir, "ext.cnf"), "-extensions", "v",
    ], { stdio: "ignore" });
    cert = new X509Certificate(readFileSync(join(dir, "c.pem")));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("does not match the U-label or the A-label of that name", () => {
    expect(cert.subjectAltName).toContain('"');
    expect(checkPeerName(cert, "bücher.example").ok).toBe(false);
    expect(checkPeerName(cert, "xn--bcher-kva.example").ok).toBe(false);
  });
});

describe("the OpenSSL engine with strict flags agrees with the rules", () => {
  // Each row: SAN pattern, host, does RFC 6125 (as this library applies it) allow the match?
  const ROWS: [string, string, boolean][] = [
    ["*.example.com", "a.example.com", true],
    ["*.example.com", "example.com", false],
    ["*.example.com", "a.b.example.com", false],
    ["f*.example.com", "foo.example.com", false],
    ["*oo.example.com", "foo.example.com", false],
    ["*.*.example.com", "a.b.example.com", false],
    ["foo.*.example.com", "foo.bar.example.com", false],
    ["*.com", "example.com", false],
    ["*.test", "a.test", false],
    ["*", "localhost", false],
    ["*.co.uk", "example.co.uk", true], // no public-suffix list: documented
    ["example.com", "EXAMPLE.COM", true],
  ];
  it.each(ROWS)("%s vs %s → %s", async (pattern, host, allowed) => {
    const cert = await certWith({ dns: [pattern] });
    expect(cert.checkHost(host, STRICT_CHECK_HOST_OPTIONS) !== undefined).toBe(allowed);
    expect(dnsPatternMatches(pattern, host.toLowerCase())).toBe(allowed);
  });

  it("ignores the subject CN with subject: 'never'", async () => {
    const cert = await certWith(undefined, "CN=example.com");
    expect(cert.checkHost("example.com", STRICT_CHECK_HOST_OPTIONS)).toBeUndefined();
    expect(cert.checkHost("example.com")).toBe("example.com");
  });

  it("normalises IPv6 text forms in checkIP", async () => {
    const cert = await certWith({ ip: ["::1"] });
    expect(cert.checkIP("0:0:0:0:0:0:0:1")).toBeDefined();
    expect(cert.checkIP("::1")).toBeDefined();
  });
});

describe("isIpAddress / classifyPeerName", () => {
  it.each([
    ["10.0.0.1", true],
    ["::1", true],
    ["0:0:0:0:0:0:0:1", true],
    ["[::1]", true],
    ["fe80::1%eth0", true],
    ["010.0.0.1", false],
    ["1.2.3", false],
    ["example.com", false],
    ["", false],
  ])("isIpAddress(%j) is %s", (name, ip) => {
    expect(isIpAddress(name)).toBe(ip);
  });

  it("classifies and normalises", () => {
    expect(classifyPeerName("0:0:0:0:0:0:0:1")).toEqual({ kind: "ip", text: "0:0:0:0:0:0:0:1", address: "::1" });
    expect(classifyPeerName("Bücher.Example.")).toEqual({ kind: "dns", text: "Bücher.Example.", ascii: "xn--bcher-kva.example" });
    expect(classifyPeerName("010.0.0.1").kind).toBe("invalid");
    expect(classifyPeerName("a..b").kind).toBe("invalid");
    expect(classifyPeerName("*.example.com").kind).toBe("invalid");
    expect(classifyPeerName("x".repeat(64) + ".com").kind).toBe("invalid");
    expect(classifyPeerName("ex ample.com").kind).toBe("invalid");
  });
});

describe("sansOf", () => {
  let dir: string;
  let cert: X509Certificate;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "gsk-sans-"));
    writeFileSync(
      join(dir, "ext.cnf"),
      [
        "[req]", "distinguished_name=dn", "[dn]", "[v]", "subjectAltName=@alt", "[alt]",
        "DNS.1=plain.example", "DNS.2=weird,name.example", "DNS.3=*.example.com", "DNS.4=bücher.example",
        "IP.1=10.0.0.1", "IP.2=2001:db8::1", "IP.3=::1",
        "email.1=a,b@example.com", "email.2=user@example.com",
        "URI.1=https://x.example/a?b=c,d", "URI.2=spiffe://example/ns",
        "otherName.1=1.3.6.1.4.1.311.20.2.3;UTF8:upn@example.com", "dirName.1=dir_sect", "RID.1=1.2.3.4",
        "[dir_sect]", "CN=Dir, Name", "O=Org",
      ].join("\n") + "\n",
    );
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
      "-keyout", join(dir, "k.pem"), "-out", join(dir, "c.pem"), "-subj", "/CN=sans", "-days", "1",
      "-config", join(dir, "ext.cnf"), "-extensions", "v",
    ], { stdio: "ignore" });
    cert = new X509Certificate(readFileSync(join(dir, "c.pem")));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("splits Node's string by kind, keeping commas inside quoted values", async () => {
    const { sansOf } = await import("../../src/trust/describe.js");
    const sans = sansOf(cert);
    expect(sans.dns).toEqual(["plain.example", "weird,name.example", "*.example.com", "b\u00c3\u00bccher.example"]);
    expect(sans.ip).toEqual(["10.0.0.1", "2001:db8::1", "::1"]);
    expect(sans.email).toEqual(["a,b@example.com", "user@example.com"]);
    expect(sans.uri).toEqual(["https://x.example/a?b=c,d", "spiffe://example/ns"]);
    expect(sans.other).toHaveLength(3);
    expect(sans.other.some((o) => o.startsWith("othername:"))).toBe(true);
    expect(sans.other.some((o) => o.startsWith("DirName:") && o.includes("Dir\\, Name"))).toBe(true);
    expect(sans.other).toContain("Registered ID:1.2.3.4");
  });

  it("parses hand-written strings and an absent extension", async () => {
    const { parseSubjectAltName } = await import("../../src/trust/describe.js");
    expect(parseSubjectAltName(undefined)).toEqual({ dns: [], ip: [], email: [], uri: [], other: [] });
    expect(parseSubjectAltName('DNS:a, DNS:"b\\u002cc", IP Address:FE80:0:0:0:0:0:0:1, "othername:x\\"y"')).toEqual({
      dns: ["a", "b,c"],
      ip: ["fe80::1"],
      email: [],
      uri: [],
      other: ['othername:x"y'],
    });
  });

  it("a comma inside a DNS SAN does not fake a second name to the matcher", () => {
    expect(checkPeerName(cert, "name.example").ok).toBe(false);
    expect(checkPeerName(cert, "plain.example")).toEqual({ ok: true, matched: "plain.example" });
  });
});
