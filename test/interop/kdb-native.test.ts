/**
 * A CMS key database written by IBM's own `gskcapicmd` (shared/fixtures/gskit-native/mixed.kdb,
 * password `password`, stash mixed.sth) used the way a port uses one: as GSK_KEYRING_FILE with
 * GSK_KEYRING_PW, with GSK_KEYRING_STASH_FILE, and with no password at all (the .sth beside it),
 * serving each of its two personal certificates by label to `openssl s_client`, which verifies
 * it. Both ends are checked: s_client's verdict and the data, our local certificate and the data.
 *
 * The personal certificates are self-signed, so s_client trusts the served certificate itself
 * (taken from the key database by the library's reader), and they expire on 2027-06-15, so
 * verification is pinned to 2026-12-01 with `-attime`.
 */
import { X509Certificate } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, describe, expect, it } from "vitest";

import {
  gsk_secure_soc_close,
  gsk_secure_soc_init,
  ref,
  type gsk_handle,
  type Ref,
  GSK_LOCAL_CERT_INFO,
  GSK_OK,
  GSK_SERVER_SESSION,
} from "../../src/index.js";
import { openKeyStore, trustAnchors } from "../../src/tools.js";
import { certCommonName, epochSeconds, gskCleanup, gskEnvironment, gskReadUntil, gskSession, gskWrite, has, killPeers, listenOnce, opensslClient, warnSkip } from "./helpers.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const NATIVE = resolve(repoRoot, "..", "shared", "fixtures", "gskit-native");
const KDB = join(NATIVE, "mixed.kdb");
const STASH = join(NATIVE, "mixed.sth");
const PASSWORD = "password";
/** Before the personal certificates' notAfter (2027-06-15). */
const VERIFY_AT = epochSeconds("2026-12-01T00:00:00Z");

const HAS_FIXTURES = existsSync(KDB) && existsSync(STASH);
const HAS_OPENSSL = has("openssl");
if (!HAS_FIXTURES) warnSkip("interop/kdb-native", `the IBM-written key database is not at ${NATIVE} (mixed.kdb and mixed.sth)`);
else if (!HAS_OPENSSL) warnSkip("interop/kdb-native (TLS part)", "`openssl` is not on PATH");

afterEach(killPeers);

const scratch = mkdtempSync(join(tmpdir(), "gskit-kdb-native-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const CREDENTIALS = {
  GSK_KEYRING_PW: { password: PASSWORD },
  GSK_KEYRING_STASH_FILE: { stashFile: STASH },
  "no password (the .sth beside it)": {},
} as const;

const LABELS = [
  ["rsa-keypair", "Example RSA", "rsa", /Peer signature type: (RSA-PSS|RSA)\b/],
  ["ec-keypair", "Example EC", "ec", /Peer signature type: ECDSA\b/],
] as const;

describe.skipIf(!HAS_FIXTURES)("the IBM-written mixed.kdb", () => {
  it.each(Object.entries(CREDENTIALS))("opened with %s: both CA entries are trust anchors, the root signing the intermediate", async (_how, credentials) => {
    const store = await openKeyStore(KDB, credentials);
    expect(store.format).toBe("cms");
    expect(store.entries.map((e) => [e.label, e.privateKey !== undefined]).sort()).toEqual([
      ["ec-keypair", true],
      ["rsa-keypair", true],
      ["trusted-intermediate-ca", false],
      ["trusted-root-ca", false],
    ]);
    const anchors = trustAnchors(store);
    expect(anchors).toHaveLength(2);
    const root = anchors.find((c) => c.subject.includes("CN=Example Root CA"));
    const intermediate = anchors.find((c) => c.subject.includes("CN=Example Intermediate CA"));
    expect(root, anchors.map((a) => a.subject).join(" | ")).toBeDefined();
    expect(intermediate).toBeDefined();
    expect(root!.checkIssued(root!) && root!.verify(root!.publicKey)).toBe(true);
    expect(intermediate!.checkIssued(root!)).toBe(true);
    expect(intermediate!.verify(root!.publicKey)).toBe(true);
    expect(intermediate!.ca && root!.ca).toBe(true);
  });

  describe.skipIf(!HAS_OPENSSL).each(Object.entries(CREDENTIALS))("served with %s", (_how, credentials) => {
    it.each(LABELS)("GSK_KEYRING_LABEL %s: s_client verifies the served certificate, and the line goes both ways", async (label, cn, keyType, signature) => {
      const store = await openKeyStore(KDB, { password: PASSWORD });
      const entry = store.entries.find((e) => e.label === label)!;
      const served: X509Certificate = entry.certificates[0]!;
      expect(served.publicKey.asymmetricKeyType).toBe(keyType);
      const caFile = join(scratch, `${label}.pem`);
      writeFileSync(caFile, served.toString());

      const env = await gskEnvironment({ store: KDB, ...credentials, label, sessionType: GSK_SERVER_SESSION });
      const listener = await listenOnce();
      let s: Ref<gsk_handle> | undefined;
      try {
        const sc = opensslClient(listener.port, ["-servername", "localhost", "-CAfile", caFile, "-verify_return_error", "-attime", VERIFY_AT, "-ign_eof"]);
        sc.write(`hello ${label}\n`);
        s = gskSession(env, await listener.accepted);
        expect(await gsk_secure_soc_init(s.value)).toBe(GSK_OK);
        expect(certCommonName(s.value, GSK_LOCAL_CERT_INFO)).toBe(cn);
        const line = await gskReadUntil(s.value, "\n");
        expect(line).toMatchObject({ rc: GSK_OK, text: `hello ${label}\n` });
        expect(await gskWrite(s.value, `served by ${label}\n`)).toBe(GSK_OK);
        expect(await gsk_secure_soc_close(s)).toBe(GSK_OK);

        const exit = await sc.finished();
        expect(exit.code, sc.output).toBe(0);
        expect(sc.stdout).toContain("Verify return code: 0 (ok)");
        expect(sc.stdout).toContain(`subject=C = XX, O = Example, CN = ${cn}`);
        expect(sc.stdout).toMatch(signature);
        expect(sc.stdout).toContain(`served by ${label}`);
      } finally {
        await gskCleanup(s, env);
        listener.close();
      }
    });
  });
});
