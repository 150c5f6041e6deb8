/**
 * PASSTHRU and the validation callback: how an application takes the verdict into its own hands.
 * PASSTHRU connects whatever the verdict and leaves the code in GSK_CERTIFICATE_VALIDATION_CODE;
 * GSK_CERT_VALIDATION_CALLBACK sees the chain (concatenated DER, the peer's first, ended by a
 * byte that is not 0x30) and the library's code, and accepts (GSK_OK) or rejects
 * (GSK_ERROR_CERT_VALIDATION, which gsk_secure_soc_init then returns).
 */
import { X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";

import {
  GSK_CERTIFICATE_CHAIN_SENT_VIA_SSL,
  GSK_CLIENT_AUTH_FULL,
  GSK_CLIENT_AUTH_PASSTHRU,
  GSK_CONFLICTING_VALIDATION_SETTING,
  GSK_END_ENTITY_CERTIFICATE,
  GSK_FD,
  GSK_ERROR_CERT_VALIDATION,
  GSK_IBMI_ERROR_NOT_TRUSTED_ROOT,
  GSK_KEYFILE_CERT_EXPIRED,
  GSK_NO_VALIDATION,
  GSK_OK,
  GSK_SERVER_AUTH_PASSTHRU,
  GSK_SERVER_SESSION,
  GSK_SERVER_SESSION_WITH_CL_AUTH,
  GSK_VALIDATION_REQUIRED,
  GSKX_ERROR_PEER_REFUSED_CERTIFICATE,
  gsk_attribute_set_numeric_value,
  gsk_secure_soc_close,
  gsk_secure_soc_init,
  gsk_secure_soc_open,
  gskx_last_error,
  ref,
  type gsk_handle,
  type validationCallBack,
} from "../../src/index.js";
import {
  TREES,
  Listener,
  againstForeignServer,
  caEntry,
  customStore,
  expectAccepted,
  expectPeerRefused,
  expectRejected,
  leafCert,
  openEnv,
  runCase,
  untrustedClientEntry,
} from "./helpers.js";

interface Seen {
  calls: number;
  chain: Buffer | undefined;
  status: number | undefined;
}

function recordingCallback(verdict: number, validateRequired: number, certificateNeeded: number = GSK_CERTIFICATE_CHAIN_SENT_VIA_SSL): { cb: validationCallBack; seen: Seen } {
  const seen: Seen = { calls: 0, chain: undefined, status: undefined };
  const cb: validationCallBack = {
    validation_callback: (certChain: Buffer, validationStatus: number) => {
      seen.calls++;
      seen.chain = Buffer.from(certChain);
      seen.status = validationStatus;
      return verdict;
    },
    validateRequired,
    certificateNeeded,
  };
  return { cb, seen };
}

/** Walks the buffer as a C program does: DER certificates while the next byte is 0x30. */
function walkDer(buffer: Buffer): { certs: X509Certificate[]; end: number } {
  const certs: X509Certificate[] = [];
  let pos = 0;
  while (pos < buffer.length && buffer[pos] === 0x30) {
    const first = buffer[pos + 1]!;
    const lengthBytes = first < 0x80 ? 0 : first & 0x7f;
    let length = first < 0x80 ? first : 0;
    for (let i = 0; i < lengthBytes; i++) length = length * 256 + buffer[pos + 2 + i]!;
    const end = pos + 2 + lengthBytes + length;
    certs.push(new X509Certificate(buffer.subarray(pos, end)));
    pos = end;
  }
  return { certs, end: pos };
}

describe.each(TREES)("PASSTHRU, %s tree", (tree) => {
  it("a PASSTHRU client connects to a server with an expired certificate and reads 107", async () => {
    const client = await openEnv({ tree, serverAuth: GSK_SERVER_AUTH_PASSTHRU });
    try {
      const r = await againstForeignServer(client, { tree, leaf: "server-expired" });
      expectAccepted(r.client, GSK_KEYFILE_CERT_EXPIRED);
      // Data flows both ways: PASSTHRU really connected.
      expect(r.client.firstRead).toBe(GSK_OK);
      expect(r.foreign.secure).toBe(true);
    } finally {
      client.close();
    }
  });

  it("a PASSTHRU client connects to an untrusted server and reads 6000; the server sees a normal session", async () => {
    const r = await runCase({ tree, personal: ["server-untrusted"], sessionType: GSK_SERVER_SESSION }, { tree, serverAuth: GSK_SERVER_AUTH_PASSTHRU }, { sni: "localhost" });
    expectAccepted(r.client, GSK_IBMI_ERROR_NOT_TRUSTED_ROOT);
    expectAccepted(r.server, 0);
    expect(r.exchanged).toBe(true);
  });
});

describe.each(TREES)("the validation callback, %s tree", (tree) => {
  it("GSK_NO_VALIDATION, accepting: an untrusted chain connects; the callback saw the chain as concatenated DER ending in a non-0x30 byte, and the code 6000", async () => {
    const { cb, seen } = recordingCallback(GSK_OK, GSK_NO_VALIDATION);
    const r = await runCase({ tree, personal: ["server-untrusted"], sessionType: GSK_SERVER_SESSION }, { tree, callback: cb }, { sni: "localhost" });
    expectAccepted(r.client, GSK_IBMI_ERROR_NOT_TRUSTED_ROOT);
    expect(r.exchanged).toBe(true);
    expect(seen.calls).toBe(1);
    expect(seen.status).toBe(GSK_IBMI_ERROR_NOT_TRUSTED_ROOT);
    const { certs, end } = walkDer(seen.chain!);
    expect(end).toBeLessThan(seen.chain!.length);
    expect(seen.chain![end]).not.toBe(0x30);
    expect(certs[0]!.fingerprint256).toBe(leafCert(tree, "server-untrusted").fingerprint256);
  });

  it("GSK_NO_VALIDATION, accepting: the full chain the server sent, leaf first", async () => {
    const { cb, seen } = recordingCallback(GSK_OK, GSK_NO_VALIDATION);
    const r = await runCase({ tree, personal: ["server"], sessionType: GSK_SERVER_SESSION }, { tree, callback: cb }, { sni: "localhost" });
    expectAccepted(r.client, 0);
    expect(seen.status).toBe(0);
    const { certs } = walkDer(seen.chain!);
    expect(certs.map((c) => c.subject.split("\n").find((l) => l.startsWith("CN="))).slice(0, 2)).toEqual(["CN=localhost", "CN=GSKit Test Intermediate CA"]);
  });

  it("GSK_VALIDATION_REQUIRED, rejecting a valid chain: the client's init returns 8, the server is told it was refused", async () => {
    const { cb, seen } = recordingCallback(GSK_ERROR_CERT_VALIDATION, GSK_VALIDATION_REQUIRED);
    const r = await runCase({ tree, personal: ["server"], sessionType: GSK_SERVER_SESSION }, { tree, callback: cb }, { sni: "localhost" });
    expectRejected(r.client, GSK_ERROR_CERT_VALIDATION);
    expect(r.client.message).toMatch(/validation callback rejected/);
    expect(seen.calls).toBe(1);
    expect(seen.status).toBe(0);
    expectPeerRefused(r.server, [GSKX_ERROR_PEER_REFUSED_CERTIFICATE]);
  });

  it("GSK_VALIDATION_REQUIRED: the library's failure stands and the callback is not asked", async () => {
    const { cb, seen } = recordingCallback(GSK_OK, GSK_VALIDATION_REQUIRED);
    const r = await runCase({ tree, personal: ["server-untrusted"], sessionType: GSK_SERVER_SESSION }, { tree, callback: cb }, { sni: "localhost" });
    expectRejected(r.client, GSK_IBMI_ERROR_NOT_TRUSTED_ROOT);
    expect(seen.calls).toBe(0);
    expectPeerRefused(r.server, [GSKX_ERROR_PEER_REFUSED_CERTIFICATE]);
  });

  it("a callback that throws rejects (8), it never accepts by accident", async () => {
    const cb: validationCallBack = {
      validation_callback: () => {
        throw new Error("bug in the application's callback");
      },
      validateRequired: GSK_NO_VALIDATION,
      certificateNeeded: GSK_CERTIFICATE_CHAIN_SENT_VIA_SSL,
    };
    const r = await runCase({ tree, personal: ["server"], sessionType: GSK_SERVER_SESSION }, { tree, callback: cb }, { sni: "localhost" });
    expectRejected(r.client, GSK_ERROR_CERT_VALIDATION);
    expectPeerRefused(r.server, [GSKX_ERROR_PEER_REFUSED_CERTIFICATE]);
  });

  it("on a server: GSK_NO_VALIDATION accepts an untrusted client certificate; the callback saw 6000", async () => {
    const { cb, seen } = recordingCallback(GSK_OK, GSK_NO_VALIDATION, GSK_END_ENTITY_CERTIFICATE);
    const store = await customStore([await untrustedClientEntry(tree), caEntry(tree, "root")]);
    const r = await runCase(
      { tree, personal: ["server"], sessionType: GSK_SERVER_SESSION_WITH_CL_AUTH, clientAuth: GSK_CLIENT_AUTH_FULL, callback: cb },
      { tree, store },
      { sni: "localhost" },
    );
    expectAccepted(r.server, GSK_IBMI_ERROR_NOT_TRUSTED_ROOT);
    expectAccepted(r.client, 0);
    expect(r.exchanged).toBe(true);
    expect(seen.status).toBe(GSK_IBMI_ERROR_NOT_TRUSTED_ROOT);
    // GSK_END_ENTITY_CERTIFICATE: the client's certificate only.
    expect(walkDer(seen.chain!).certs).toHaveLength(1);
  });

  it("on a server: rejecting a valid client certificate gives 8 on the server and a refusal on the client", async () => {
    const { cb } = recordingCallback(GSK_ERROR_CERT_VALIDATION, GSK_VALIDATION_REQUIRED);
    const r = await runCase({ tree, personal: ["server"], sessionType: GSK_SERVER_SESSION_WITH_CL_AUTH, callback: cb }, { tree, personal: ["client"] }, { sni: "localhost" });
    expectRejected(r.server, GSK_ERROR_CERT_VALIDATION);
    expectPeerRefused(r.client, [GSKX_ERROR_PEER_REFUSED_CERTIFICATE]);
  });

  it("with PASSTHRU, a callback that rejects still rejects: the callback decides last", async () => {
    const { cb, seen } = recordingCallback(GSK_ERROR_CERT_VALIDATION, GSK_NO_VALIDATION);
    const store = await customStore([await untrustedClientEntry(tree), caEntry(tree, "root")]);
    const r = await runCase(
      { tree, personal: ["server"], sessionType: GSK_SERVER_SESSION_WITH_CL_AUTH, clientAuth: GSK_CLIENT_AUTH_PASSTHRU, callback: cb },
      { tree, store },
      { sni: "localhost" },
    );
    expect(seen.status).toBe(GSK_IBMI_ERROR_NOT_TRUSTED_ROOT);
    expectRejected(r.server, GSK_ERROR_CERT_VALIDATION);
    expectPeerRefused(r.client, [GSKX_ERROR_PEER_REFUSED_CERTIFICATE]);
  });

  it("GSK_VALIDATION_REQUIRED with PASSTHRU is a conflicting setting (706), before anything is sent", async () => {
    const { cb, seen } = recordingCallback(GSK_OK, GSK_VALIDATION_REQUIRED);
    const client = await openEnv({ tree, serverAuth: GSK_SERVER_AUTH_PASSTHRU, callback: cb });
    const listener = await Listener.open();
    const tcp = await listener.pair();
    void listener.close();
    const c = ref<gsk_handle>();
    try {
      expect(gsk_secure_soc_open(client.handle, c)).toBe(GSK_OK);
      expect(gsk_attribute_set_numeric_value(c.value, GSK_FD, tcp.client)).toBe(GSK_OK);
      expect(await gsk_secure_soc_init(c.value)).toBe(GSK_CONFLICTING_VALIDATION_SETTING);
      expect(gskx_last_error()?.message).toMatch(/PASSTHRU/);
      expect(seen.calls).toBe(0);
      expect(tcp.server.bytesRead).toBe(0);
    } finally {
      await gsk_secure_soc_close(c);
      tcp.close();
      client.close();
    }
  });
});
