/**
 * The real process path (`tsx src/cli/main.ts`): exit codes, the one stderr line, --help,
 * gsk8capicmd's spelling, and s_server stopped by SIGTERM after serving a client.
 */
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { afterAll, describe, expect, it } from "vitest";

import { ERROR_LINE, gskit, scratch, spawnGskit } from "./helpers.js";

const tmp = scratch("process");
afterAll(() => tmp.cleanup());

describe("gskit as a process", () => {
  it("prints help, versions, errors and gsk8capicmd-style commands with the right exit codes", async () => {
    const [help, actionHelp, version, missingPw, usage, unknown, capicmd, strerror] = await Promise.all([
      spawnGskit(["--help"]).result,
      spawnGskit(["keydb", "create", "--help"]).result,
      spawnGskit(["--version"]).result,
      spawnGskit(["keydb", "create", "--db", tmp.path("nopw.p12")]).result,
      spawnGskit(["keydb", "list", "--db", tmp.path("x.p12"), "--bogus"]).result,
      spawnGskit(["frobnicate"]).result,
      spawnGskit(["-keydb", "-create", "-db", tmp.path("capi.kdb"), "-pw", "secret", "-stash"]).result,
      spawnGskit(["strerror", "408", "GSK_IBMI_ERROR_NOT_TRUSTED_ROOT"]).result,
    ]);

    expect(help).toMatchObject({ code: 0, stderr: "" });
    expect(help.stdout).toMatch(/^usage: gskit <command>/);
    for (const group of ["system", "keydb", "cert", "certreq", "app", "s_server", "s_client", "strerror"]) expect(help.stdout).toContain(`  ${group} `);
    expect(actionHelp).toMatchObject({ code: 0, stderr: "" });
    expect(actionHelp.stdout).toMatch(/^usage: gskit keydb create --db FILE/);
    expect(version).toMatchObject({ code: 0, stdout: "gskit 0.1.0\n", stderr: "" });

    expect(missingPw.code).toBe(1);
    expect(missingPw.stdout).toBe("");
    expect(missingPw.stderr).toMatch(ERROR_LINE);
    expect(missingPw.stderr).toMatch(/^gskit: keydb create: a new key store .*nopw\.p12 needs a password .* \(GSK_NO_KEYFILE_PASSWORD 201\)\n$/);
    expect(existsSync(tmp.path("nopw.p12"))).toBe(false);

    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^gskit: keydb list: Unknown option '--bogus'.* \(GSK_INVALID_PARAMETER 13\)\n$/);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^gskit: command line: unknown command 'frobnicate': .* \(GSK_INVALID_PARAMETER 13\)\n$/);

    expect(capicmd).toMatchObject({ code: 0, stderr: "" });
    expect(existsSync(tmp.path("capi.kdb")) && existsSync(tmp.path("capi.sth"))).toBe(true);

    expect(strerror).toMatchObject({ code: 0, stderr: "" });
    expect(strerror.stdout).toMatch(/^408 GSK_ERROR_BAD_KEYFILE_PASSWORD: .+\n6000 GSK_IBMI_ERROR_NOT_TRUSTED_ROOT: .+\n$/);
  });

  it("runs s_server until SIGTERM and exits 0 after serving; s_client exits with the GSK code modulo 256", async () => {
    const store = tmp.path("server.p12");
    const ca = tmp.path("ca.p12");
    for (const argv of [
      ["keydb", "create", "--db", ca, "--pw", "ca"],
      ["cert", "create-ca", "--db", ca, "--pw", "ca", "--label", "ca", "--dn", "CN=Process CA", "--key", "ec-p256"],
      ["keydb", "create", "--db", store, "--pw", "pw"],
      ["cert", "issue", "--db", ca, "--pw", "ca", "--ca-label", "ca", "--label", "server", "--dn", "CN=localhost", "--san", "dns:localhost,ip:127.0.0.1", "--key", "ec-p256", "--target", store, "--target_pw", "pw"],
    ]) {
      expect((await gskit(argv)).code).toBe(0);
    }

    let onAccept: (port: number) => void = () => undefined;
    const accepted = new Promise<number>((resolve) => (onAccept = resolve));
    const server = spawnGskit(["s_server", "--db", store, "--pw", "pw", "--port", "0"], {
      onStdout: (text) => {
        const m = /^ACCEPT 127\.0\.0\.1:(\d+)$/m.exec(text);
        if (m) onAccept(Number(m[1]));
      },
    });
    let result;
    try {
      const port = await Promise.race([accepted, server.result.then((r) => Promise.reject(new Error(`s_server ended: ${r.stderr}`)))]);
      const client = await gskit(["s_client", "--connect", `127.0.0.1:${String(port)}`, "--db", store, "--pw", "pw", "--message", "over a real process"]);
      expect(client.stderr).toBe("");
      expect(client.code).toBe(0);
      expect(client.stdout).toMatch(/^over a real process\nPROTOCOL\s+TLSv1\.3\n/);
    } finally {
      server.kill("SIGTERM");
      result = await server.result;
    }
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^ACCEPT 127\.0\.0\.1:\d+\nSESSION #1 TLSv1\.3 TLS_\w+ peer="\(none\)" validation=0 GSK_OK\n$/);

    // Nothing listens on a port just released: GSK_ERROR_IO 406, exit 406 % 256.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const closed = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const refused = await spawnGskit(["s_client", "--connect", `127.0.0.1:${String(closed)}`, "--message", "x"]).result;
    expect(refused.code).toBe(406 % 256);
    expect(refused.stderr).toMatch(/^gskit: s_client: cannot connect to 127\.0\.0\.1:\d+: ECONNREFUSED \(GSK_ERROR_IO 406\)\n$/);
  });
});
