/**
 * The environment's checks on its own certificate at gsk_environment_init: what makes every
 * handshake fail is an error there (key not matching the certificate, a certificate out of date, a
 * broken signature); what makes some peers refuse it or will soon is a warning, readable from
 * `Environment.warnings` and emitted as a process warning (code GSKIT_TLS_CERTIFICATE) for the
 * gsk_* layer — never a failure.
 */
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import {
  Environment,
  GSK_ERROR_BAD_CERT_SIG,
  GSK_ERROR_BAD_CERTIFICATE,
  GSK_KEYFILE_CERT_EXPIRED,
  GSK_KEYRING_OPEN_ERROR,
  GSK_OK,
  GSK_SERVER_SESSION,
  GskError,
} from "../../src/index.js";
import { saveCmsKeyDb } from "../../src/keystore/cms-kdb.js";
import { makeStore, PASSWORD, scratchDir } from "../helpers/stores.js";
import { TREES, caEntry, customStore, leafCert, leafKey, leafOnlyEntry, tryOpenEnv } from "./helpers.js";

describe("errors: gsk_environment_init fails with the code and names the certificate", () => {
  it("an EC private key with an RSA certificate in a key database record: 404, both key types named", async () => {
    const file = join(scratchDir(), `mismatch-${String(process.pid)}.kdb`);
    await saveCmsKeyDb(file, [{ label: "mismatch", certificates: [leafCert("rsa", "server")], privateKey: leafKey("ecdsa", "server"), trusted: false }, caEntry("rsa", "root")], PASSWORD);
    const r = await tryOpenEnv({ tree: "rsa", store: file, sessionType: GSK_SERVER_SESSION });
    expect(r.rc).toBe(GSK_ERROR_BAD_CERTIFICATE);
    expect(r.message).toMatch(/private key does not match certificate 'CN=localhost,OU=rsa/);
    expect(r.message).toMatch(/the key is EC prime256v1, the certificate's public key is RSA 2048/);
  });

  it.each(["pem", "pkcs12"] as const)("an EC private key with an RSA certificate in a %s store: the key has no certificate (202), the message says it belongs to another one", async (format) => {
    // PEM bundles and PKCS#12 pair a key with the certificate holding its public key, so a
    // mismatched pair is found when the store is read.
    const store = await customStore([{ label: "mismatch", certificates: [leafCert("rsa", "server")], privateKey: leafKey("ecdsa", "server"), trusted: false }, caEntry("rsa", "root")], format);
    const r = await tryOpenEnv({ tree: "rsa", store, sessionType: GSK_SERVER_SESSION });
    expect(r.rc).toBe(GSK_KEYRING_OPEN_ERROR);
    expect(r.message).toContain(store);
    expect(r.message).toMatch(/no certificate with its public key/);
  });

  it.each([
    ["an expired certificate", "server-expired", GSK_KEYFILE_CERT_EXPIRED, /our certificate 'CN=localhost.*' expired on/],
    ["a certificate not yet valid", "server-notyetvalid", GSK_KEYFILE_CERT_EXPIRED, /is not valid until/],
    ["a valid certificate under an expired intermediate", "server-under-expired-int", GSK_KEYFILE_CERT_EXPIRED, /the CA certificate 'CN=GSKit Test Expired Intermediate CA.*' expired on/],
    ["a certificate whose signature does not verify", "server-bad-sig", GSK_ERROR_BAD_CERT_SIG, /does not verify with the key of its issuer/],
  ] as const)("%s: %s", async (_what, leaf, code, text) => {
    const r = await tryOpenEnv({ tree: "rsa", personal: [leaf], sessionType: GSK_SERVER_SESSION });
    expect(r.rc).toBe(code);
    expect(r.message).toContain(`certificate '${leaf}'`);
    expect(r.message).toMatch(text);
  });
});

describe("warnings: the environment opens, and says what peers will refuse", () => {
  const seen: string[] = [];
  const onWarning = (w: Error & { code?: string }): void => {
    if (w.code === "GSKIT_TLS_CERTIFICATE") seen.push(w.message);
  };
  beforeEach(() => {
    seen.length = 0;
    process.on("warning", onWarning);
  });
  afterEach(() => {
    process.off("warning", onWarning);
  });

  describe.each(TREES)("%s tree", (tree) => {
    it("an incomplete own chain (the intermediate is not in the store): a warning naming the missing issuer", async () => {
      const file = await customStore([leafOnlyEntry(tree, "server"), caEntry(tree, "root")]);
      await using env = await Environment.open({ role: "server", keystore: { file, password: PASSWORD } });
      expect(env.warnings.join("\n")).toMatch(/the chain of 'CN=localhost.*' is incomplete: the issuer 'CN=GSKit Test Intermediate CA/);
      expect(env.warnings.join("\n")).toMatch(/Fix: add the certificate of 'CN=GSKit Test Intermediate CA/);
    });

    it("expiry within expiryWarningDays: a warning with the date", async () => {
      const file = await makeStore({ tree, personal: ["server"] });
      await using env = await Environment.open({ role: "server", keystore: { file, password: PASSWORD }, expiryWarningDays: 3650 });
      const days = Math.floor((new Date(leafCert(tree, "server").validTo).getTime() - Date.now()) / 86_400_000);
      expect(env.warnings.join("\n")).toMatch(new RegExp(`our certificate 'CN=localhost.*' expires in ${String(days)} days`));
    });

    it("no expiry warning outside the window", async () => {
      const file = await makeStore({ tree, personal: ["server"] });
      await using env = await Environment.open({ role: "server", keystore: { file, password: PASSWORD }, expiryWarningDays: 30 });
      expect(env.warnings).toEqual([]);
    });

    it("a certificate whose EKU does not fit the session type: a warning for a server with a clientAuth-only certificate", async () => {
      const file = await makeStore({ tree, personal: ["server-eku-client-only"] });
      await using env = await Environment.open({ role: "server", keystore: { file, password: PASSWORD } });
      expect(env.warnings.join("\n")).toMatch(/extended key usage clientAuth without serverAuth/);
    });

    it("a certificate whose EKU does not fit the session type: a warning for a client with a serverAuth-only certificate", async () => {
      const file = await makeStore({ tree, personal: ["client-eku-server-only"] });
      await using env = await Environment.open({ role: "client", keystore: { file, password: PASSWORD } });
      expect(env.warnings.join("\n")).toMatch(/extended key usage serverAuth without clientAuth/);
    });

    it("a CA certificate as the own certificate: a warning", async () => {
      const file = await makeStore({ tree, personal: ["ca-as-leaf"] });
      await using env = await Environment.open({ role: "server", keystore: { file, password: PASSWORD } });
      expect(env.warnings.join("\n")).toMatch(/is a CA certificate \(basicConstraints CA:TRUE\)/);
    });
  });

  it("through the gsk_* layer: gsk_environment_init returns GSK_OK and the warning is a process warning", async () => {
    const r = await tryOpenEnv({ tree: "rsa", personal: ["server-eku-client-only"], sessionType: GSK_SERVER_SESSION });
    expect(r.rc).toBe(GSK_OK);
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen.join("\n")).toMatch(/certificate 'server-eku-client-only': .*without serverAuth/);
    const { gsk_environment_close, ref } = await import("../../src/index.js");
    gsk_environment_close(ref(r.handle));
  });

  it("a client environment's own expired certificate is an error too, thrown as GskError by Environment.open", async () => {
    const file = await makeStore({ tree: "ecdsa", personal: ["client-expired"] });
    const opened = Environment.open({ role: "client", keystore: { file, password: PASSWORD } });
    await expect(opened).rejects.toBeInstanceOf(GskError);
    await expect(opened).rejects.toMatchObject({ code: GSK_KEYFILE_CERT_EXPIRED });
  });
});
