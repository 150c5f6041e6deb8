import type { X509Certificate } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { RC } from "../../src/codes.js";
import { GskError } from "../../src/errors.js";
import { generateKey, issueCertificate, type KeyPair, type SubjectAltNames } from "../../src/pki/index.js";
import { matchAllowedPeerNames, parseAllowedPeerNames } from "../../src/trust/allowed-peer-names.js";
import { canonicalAttributeType, escapeDnValue, formatDnRfc4514, parseNodeDn } from "../../src/trust/describe.js";

let key: KeyPair;
async function client(subject: string, sans?: SubjectAltNames): Promise<X509Certificate> {
  return issueCertificate({ subject, publicKey: key.publicKey, signingKey: key.privateKey, ...(sans ? { subjectAltNames: sans } : {}) });
}

beforeAll(async () => {
  key = await generateKey("ec-p256");
});

describe("parseAllowedPeerNames", () => {
  it("parses every form to its canonical spelling", () => {
    const parsed = parseAllowedPeerNames(
      " dns:Host.Example.COM , dns:*.example.org, ip:10.0.0.1, ip:0:0:0:0:0:0:0:1, email:User@Example.com, dn:CN=client1,O=Example, bare.example, 192.168.1.1, fe80::1 ",
    );
    expect(parsed.entries.map((e) => e.text)).toEqual([
      "dns:host.example.com",
      "dns:*.example.org",
      "ip:10.0.0.1",
      "ip:::1",
      "email:User@example.com",
      "dn:CN=client1,O=Example",
      "dns:bare.example",
      "ip:192.168.1.1",
      "ip:fe80::1",
    ]);
  });

  it("keeps the commas of a dn: entry, ends it at the next prefix or bare name", () => {
    const parsed = parseAllowedPeerNames("dn:CN=a,OU=Dept,O=Example,C=US,dns:b.example,dn:CN=c\\, Inc.,O=X,plain.example");
    expect(parsed.entries.map((e) => e.text)).toEqual(["dn:CN=a,OU=Dept,O=Example,C=US", "dns:b.example", "dn:CN=c\\, Inc.,O=X", "dns:plain.example"]);
    const dn = parsed.entries[0]!;
    expect(dn.kind === "dn" && dn.rdns.map((r) => r[0]!.type)).toEqual(["C", "O", "OU", "CN"]);
  });

  it("accepts long names, OIDs and multi-valued RDNs in dn:", () => {
    const parsed = parseAllowedPeerNames("dn:commonName=a+OU=b,2.5.4.10=Example");
    expect(parsed.entries[0]!.text).toBe("dn:CN=a+OU=b,O=Example");
  });

  it("converts IDN to A-labels", () => {
    expect(parseAllowedPeerNames("dns:bücher.example, dns:*.bücher.example, email:a@bücher.example").entries.map((e) => e.text)).toEqual([
      "dns:xn--bcher-kva.example",
      "dns:*.xn--bcher-kva.example",
      "email:a@xn--bcher-kva.example",
    ]);
  });

  it("an empty value sets no restriction; empty entries are skipped", () => {
    expect(parseAllowedPeerNames("").entries).toEqual([]);
    expect(parseAllowedPeerNames("  ").entries).toEqual([]);
    expect(parseAllowedPeerNames("a.example,,b.example,").entries).toHaveLength(2);
  });

  it.each([
    ["cn:client1", "cn: form is not offered"],
    ["uri:spiffe://x", "unknown prefix 'uri:'"],
    ["dns:f*.example.com", "whole left-most label"],
    ["dns:foo.*.example.com", "whole left-most label"],
    ["dns:*.com", "at least two labels"],
    ["*.com", "at least two labels"],
    ["dns:10.0.0.1", "write ip:10.0.0.1"],
    ["ip:host.example", "not an IPv4 or IPv6 address"],
    ["ip:010.0.0.1", "not an IPv4 or IPv6 address"],
    ["email:nobody", "not an e-mail address"],
    ["email:@example.com", "not an e-mail address"],
    ["dn:", "not an attribute=value pair"],
    ["dn:CN=", "is empty"],
    ["dn:just text", "not an attribute=value pair"],
    ["bad..name", "empty label"],
    ["CN=client1,O=Example", "needs the dn: prefix"],
    ["dns:a b.example", "not a valid DNS name"],
  ])("refuses %j", (text, why) => {
    let err: unknown;
    try {
      parseAllowedPeerNames(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GskError);
    expect((err as GskError).code).toBe(RC.GSK_INVALID_PARAMETER);
    expect((err as GskError).message).toContain(why);
    expect((err as GskError).message).toContain("GSKX_ALLOWED_PEER_NAMES");
  });
});

describe("matchAllowedPeerNames", () => {
  type Row = [name: string, subject: string, sans: SubjectAltNames | undefined, allowed: string, matched: string | null];
  const ROWS: Row[] = [
    ["dns exact", "CN=c", { dns: ["client.example.com"] }, "dns:client.example.com", "dns:client.example.com"],
    ["dns case-insensitive", "CN=c", { dns: ["Client.Example.com"] }, "dns:CLIENT.example.COM", "dns:client.example.com"],
    ["bare entry means dns:", "CN=c", { dns: ["client.example.com"] }, "client.example.com", "dns:client.example.com"],
    ["dns exact vs wildcard SAN (covered, as for peer names)", "CN=c", { dns: ["*.example.com"] }, "dns:client.example.com", "dns:client.example.com"],
    ["dns mismatch", "CN=c", { dns: ["other.example.com"] }, "dns:client.example.com", null],
    ["dns wildcard entry, one label below", "CN=c", { dns: ["a.example.com"] }, "dns:*.example.com", "dns:*.example.com"],
    ["dns wildcard entry, same wildcard SAN", "CN=c", { dns: ["*.example.com"] }, "dns:*.example.com", "dns:*.example.com"],
    ["dns wildcard entry, bare domain", "CN=c", { dns: ["example.com"] }, "dns:*.example.com", null],
    ["dns wildcard entry, two labels below", "CN=c", { dns: ["a.b.example.com"] }, "dns:*.example.com", null],
    ["dns wildcard entry, wider wildcard SAN", "CN=c", { dns: ["*.com"] }, "dns:*.example.com", null],
    ["dns wildcard entry, partial wildcard SAN", "CN=c", { dns: ["a*.example.com"] }, "dns:*.example.com", null],
    ["no CN matching: CN equals the entry", "CN=client.example.com", undefined, "dns:client.example.com", null],
    ["ip", "CN=c", { ip: ["10.0.0.1"] }, "ip:10.0.0.1", "ip:10.0.0.1"],
    ["ip, other text form", "CN=c", { ip: ["2001:db8::1"] }, "ip:2001:DB8:0:0:0:0:0:1", "ip:2001:db8::1"],
    ["bare ip", "CN=c", { ip: ["10.0.0.1"] }, "10.0.0.1", "ip:10.0.0.1"],
    ["ip vs DNS SAN spelling it", "CN=c", { dns: ["10.0.0.1"] }, "ip:10.0.0.1", null],
    ["email", "CN=c", { email: ["user@example.com"] }, "email:user@example.com", "email:user@example.com"],
    ["email domain case-insensitive", "CN=c", { email: ["user@EXAMPLE.com"] }, "email:user@example.com", "email:user@example.com"],
    ["email local part exact", "CN=c", { email: ["User@example.com"] }, "email:user@example.com", null],
    ["email vs subject emailAddress", "CN=c,E=user@example.com", undefined, "email:user@example.com", null],
    ["dn exact", "CN=client1,O=Example", undefined, "dn:CN=client1,O=Example", "dn:CN=client1,O=Example"],
    ["dn values case-insensitive", "CN=Client1,O=EXAMPLE", undefined, "dn:cn=client1,o=example", "dn:CN=client1,O=example"],
    ["dn with spaces around separators", "CN=client1,O=Example Corp,C=US", undefined, "dn: CN = client1 , O=Example Corp , C=US", "dn:CN=client1,O=Example Corp,C=US"],
    ["dn missing an RDN", "CN=client1,O=Example,C=US", undefined, "dn:CN=client1,O=Example", null],
    ["dn extra RDN", "CN=client1,O=Example", undefined, "dn:CN=client1,O=Example,C=US", null],
    ["dn order as written (reversed does not match)", "CN=client1,O=Example", undefined, "dn:O=Example,CN=client1", null],
    ["dn with an escaped comma", "CN=Acme\\, Inc.,O=Example", undefined, "dn:CN=Acme\\, Inc.,O=Example", "dn:CN=Acme\\, Inc.,O=Example"],
    ["dn emailAddress via E=", "CN=c,E=user@example.com", undefined, "dn:CN=c,emailAddress=user@example.com", "dn:CN=c,emailAddress=user@example.com"],
    ["any entry matching is enough", "CN=c", { dns: ["b.example"] }, "dns:a.example, dns:b.example", "dns:b.example"],
    ["no SAN and no matching DN", "CN=c", undefined, "dns:a.example, ip:10.0.0.1, email:a@a.example", null],
  ];

  it.each(ROWS)("%s", async (_name, subject, sans, allowed, matched) => {
    const cert = await client(subject, sans);
    const r = matchAllowedPeerNames(cert, parseAllowedPeerNames(allowed));
    if (matched === null) {
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.code).toBe(RC.GSKX_ERROR_PEER_NAME_MISMATCH);
    } else {
      expect(r).toEqual({ ok: true, matched });
    }
  });

  it("no entries: no restriction", async () => {
    expect(matchAllowedPeerNames(await client("CN=c"), parseAllowedPeerNames("")).ok).toBe(true);
  });

  it("the mismatch message names the certificate, the allowed names and the fix", async () => {
    const cert = await client("CN=client9,O=Example", { dns: ["client9.example.com"], ip: ["10.9.9.9"] });
    const r = matchAllowedPeerNames(cert, parseAllowedPeerNames("dns:client1.example.com, dn:CN=client1,O=Example"));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.message).toContain("subject 'CN=client9,O=Example'");
    expect(r.message).toContain("DNS:client9.example.com, IP:10.9.9.9");
    expect(r.message).toContain("(dns:client1.example.com, dn:CN=client1,O=Example)");
    expect(r.message).toContain("dn:CN=client9,O=Example");
  });

  it("hints at a reversed DN and at a local-part case difference", async () => {
    const reversed = matchAllowedPeerNames(await client("CN=client1,O=Example"), parseAllowedPeerNames("dn:O=Example,CN=client1"));
    expect(!reversed.ok && reversed.message).toContain("lists the RDNs in reverse");
    const cased = matchAllowedPeerNames(await client("CN=c", { email: ["User@example.com"] }), parseAllowedPeerNames("email:user@example.com"));
    expect(!cased.ok && cased.message).toContain("case of the local part");
  });
});

describe("distinguished names as Node prints them", () => {
  it("parses Node's multi-line form with OpenSSL escapes", () => {
    expect(parseNodeDn('C=US\nO=Ex\\"ample\\, Inc\nCN=a \\+ b + OU=x\\0Ay\nL=\\#1\\ ')).toEqual([
      [{ type: "C", value: "US" }],
      [{ type: "O", value: 'Ex"ample, Inc' }],
      [
        { type: "CN", value: "a + b" },
        { type: "OU", value: "x\ny" },
      ],
      [{ type: "L", value: "#1 " }],
    ]);
    expect(parseNodeDn("")).toEqual([]);
  });

  it("round-trips a certificate subject to RFC 4514 order", async () => {
    const cert = await client("CN=leaf,OU=Unit+L=Town,O=Example\\, Inc.,C=US");
    // Attributes of a multi-valued RDN are a DER SET: their order is the encoder's.
    expect(["CN=leaf,OU=Unit+L=Town,O=Example\\, Inc.,C=US", "CN=leaf,L=Town+OU=Unit,O=Example\\, Inc.,C=US"]).toContain(formatDnRfc4514(cert.subject));
    const rdns = parseNodeDn(cert.subject);
    expect(rdns[0]).toEqual([{ type: "C", value: "US" }]);
    expect(rdns[1]).toEqual([{ type: "O", value: "Example, Inc." }]);
    expect(rdns[2]!.map((a) => a.type).sort()).toEqual(["L", "OU"]);
    expect(rdns[3]).toEqual([{ type: "CN", value: "leaf" }]);
  });

  it("escapes values as RFC 4514 asks", () => {
    expect(escapeDnValue(' #a,b+c"d\\e<f>g;h ')).toBe('\\ #a\\,b\\+c\\"d\\\\e\\<f\\>g\\;h\\ ');
    expect(escapeDnValue("#x")).toBe("\\#x");
    expect(escapeDnValue("a\nb")).toBe("a\\0Ab");
    expect(escapeDnValue("bücher")).toBe("bücher");
  });

  it("canonicalises attribute types", () => {
    expect(canonicalAttributeType("commonName")).toBe("CN");
    expect(canonicalAttributeType("2.5.4.3")).toBe("CN");
    expect(canonicalAttributeType("e")).toBe("emailAddress");
    expect(canonicalAttributeType("dc")).toBe("DC");
    expect(canonicalAttributeType("1.2.3.4")).toBe("1.2.3.4");
  });
});
