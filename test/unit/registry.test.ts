import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RC } from "../../src/codes.js";
import { GskError } from "../../src/errors.js";
import { normalizeDefinition, validateApplicationId } from "../../src/registry/application.js";
import { systemStoreLocation } from "../../src/registry/locations.js";
import { ApplicationRegistry, lookupApplication, type StoreLabels } from "../../src/registry/registry.js";

// Lets a test make the rename at the end of an atomic write fail, as a crash or a full disk would.
const faults = vi.hoisted(() => ({ failRename: false }));
vi.mock("node:fs/promises", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:fs/promises")>();
  const rename: typeof actual.rename = async (from, to) => {
    if (faults.failRename) throw Object.assign(new Error("EIO: i/o error, rename (simulated)"), { code: "EIO" });
    return actual.rename(from, to);
  };
  return { ...actual, rename, default: { ...actual, rename } };
});

const repoRoot = resolve(import.meta.dirname, "../..");

let dir: string;
let file: string;
const savedEnvironment = { GSKIT_TLS_HOME: process.env["GSKIT_TLS_HOME"], HOME: process.env["HOME"] };

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "gskit-registry-"));
  file = join(dir, "applications.json");
  faults.failRename = false;
});

afterEach(async () => {
  for (const [name, value] of Object.entries(savedEnvironment)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await rm(dir, { recursive: true, force: true });
});

const store: StoreLabels = { personal: ["server-rsa", "server-ec", "client"], ca: ["Root CA", "Other CA"] };

/** Runs `action` and returns the GskError it rejects with (failing the test if it does not). */
async function refusal(action: () => Promise<unknown>): Promise<GskError> {
  try {
    await action();
  } catch (error) {
    expect(error).toBeInstanceOf(GskError);
    return error as GskError;
  }
  throw new Error("the action was not refused");
}

async function seeded(): Promise<ApplicationRegistry> {
  const registry = await ApplicationRegistry.load(file);
  await registry.register({ id: "MY_SERVER", type: "server", certificates: ["server-rsa"], clientAuth: "required" });
  await registry.register({ id: "MY_CLIENT", type: "client", description: "a client" });
  return registry;
}

describe("systemStoreLocation", () => {
  it("takes the option first, then GSKIT_TLS_HOME, then ~/.gskit-tls", () => {
    process.env["GSKIT_TLS_HOME"] = join(dir, "from-env");
    process.env["HOME"] = join(dir, "home");
    expect(systemStoreLocation({ directory: join(dir, "opt") })).toEqual({
      directory: join(dir, "opt"),
      storeFile: join(dir, "opt", "system.p12"),
      stashFile: join(dir, "opt", "system.sth"),
      registryFile: join(dir, "opt", "applications.json"),
    });
    expect(systemStoreLocation().directory).toBe(join(dir, "from-env"));
    expect(systemStoreLocation({}).registryFile).toBe(join(dir, "from-env", "applications.json"));
    process.env["GSKIT_TLS_HOME"] = "";
    expect(systemStoreLocation().directory).toBe(join(dir, "home", ".gskit-tls"));
    delete process.env["GSKIT_TLS_HOME"];
    expect(systemStoreLocation().storeFile).toBe(join(dir, "home", ".gskit-tls", "system.p12"));
  });

  it("makes a relative directory absolute", () => {
    expect(systemStoreLocation({ directory: "rel/dir" }).directory).toBe(resolve("rel/dir"));
  });
});

describe("validateApplicationId", () => {
  it("accepts DCM-style IDs and keeps their case", () => {
    expect(validateApplicationId("QIBM_QTV_TELNET_SERVER")).toBe("QIBM_QTV_TELNET_SERVER");
    expect(validateApplicationId("my.app_2")).toBe("my.app_2");
    expect(validateApplicationId("A".repeat(100))).toHaveLength(100);
  });

  it.each([
    ["", /empty/],
    ["A".repeat(101), /101 characters long; at most 100/],
    ["1APP", /must start with a letter \(A–Z\), not '1'/],
    ["_APP", /must start with a letter/],
    ["MY-APP", /character '-' at position 3 is not allowed/],
    ["MY APP", /character U\+0020 at position 3/],
    ["ÄPP", /must start with a letter/],
    [42, /must be a string, not number 42/],
  ])("refuses %j", (id, message) => {
    let error: unknown;
    try {
      validateApplicationId(id);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(GskError);
    expect((error as GskError).code).toBe(RC.GSK_INVALID_PARAMETER);
    expect((error as GskError).message).toMatch(message);
  });
});

describe("normalizeDefinition", () => {
  it("fills the defaults", () => {
    expect(normalizeDefinition({ id: "APP", type: "client" })).toEqual({
      id: "APP",
      type: "client",
      description: "",
      certificates: [],
      trustList: null,
      clientAuth: "none",
      allowedPeerNames: [],
      protocols: [],
      ciphers: [],
      sessionLifetime: null,
    });
  });

  it("normalizes peer names, protocols and cipher names", () => {
    const d = normalizeDefinition({
      id: "APP",
      type: "server",
      allowedPeerNames: ["Host.Example.COM", "dns:*.example.com", "10.0.0.1", "fe80::1", "EMAIL:a@b.example", "dn:CN=client,O=Org"],
      // Spelling as typed by hand; the type only knows the canonical one.
      protocols: ["tlsv1.3", "TLSv1.2"] as never,
      ciphers: ["tls_aes_128_gcm_sha256"],
      trustList: [],
      sessionLifetime: 0,
    });
    expect(d.allowedPeerNames).toEqual([
      "dns:host.example.com",
      "dns:*.example.com",
      "ip:10.0.0.1",
      "ip:fe80::1",
      "email:a@b.example",
      "dn:CN=client,O=Org",
    ]);
    expect(d.protocols).toEqual(["TLSv1.3", "TLSv1.2"]);
    expect(d.ciphers).toEqual(["TLS_AES_128_GCM_SHA256"]);
    expect(d.trustList).toEqual([]);
    expect(d.sessionLifetime).toBe(0);
  });

  it.each([
    [{ type: "client", clientAuth: "required" }, /application ID 'APP': a client cannot have clientAuth 'required'/],
    [{ type: "server", clientAuth: "maybe" }, /clientAuth must be 'none', 'optional' or 'required'/],
    [{ type: "peer" }, /type must be 'client' or 'server', not 'peer'/],
    [{ type: "server", certificates: ["a", "b", "c", "d", "e"] }, /more than four certificates assigned \(5: a, b, c, d, e\)/],
    [{ type: "server", certificates: ["a", "a"] }, /certificates lists 'a' twice/],
    [{ type: "server", certificates: [""] }, /empty label/],
    [{ type: "server", trustList: "Root CA" }, /trustList must be a list of strings/],
    [{ type: "server", protocols: ["TLSv1.1"] }, /protocol 'TLSv1.1' is not supported/],
    [{ type: "server", ciphers: ["ECDHE-RSA-AES128-GCM-SHA256"] }, /not an IANA cipher-suite name/],
    [{ type: "server", sessionLifetime: 86401 }, /sessionLifetime must be a whole number of seconds from 0 to 86400/],
    [{ type: "server", sessionLifetime: 1.5 }, /sessionLifetime/],
    [{ type: "server", allowedPeerNames: ["uri:https://x"] }, /unknown kind 'uri:'/],
    [{ type: "server", allowedPeerNames: ["dns:f*.example.com"] }, /is not a host name/],
    [{ type: "server", allowedPeerNames: ["ip:10.0.0.300"] }, /is not an IPv4 or IPv6 address/],
    [{ type: "server", description: "two\nlines" }, /description contains a control character/],
    [{ type: "server", certificate: ["a"] }, /unknown field 'certificate'/],
  ])("refuses %j", (fields, message) => {
    let error: unknown;
    try {
      normalizeDefinition({ id: "APP", ...(fields as { type: "server" }) });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(GskError);
    expect((error as GskError).code).toBe(RC.GSK_INVALID_PARAMETER);
    expect((error as GskError).message).toMatch(message);
  });
});

describe("ApplicationRegistry", () => {
  it("is empty when the file is missing, and loading does not create it", async () => {
    const registry = await ApplicationRegistry.load(file);
    expect(registry.list()).toEqual([]);
    expect(registry.get("ANY")).toBeUndefined();
    expect(await readdir(dir)).toEqual([]);
  });

  it("registers, lists and gets, persisting each edit with version 1", async () => {
    const registry = await seeded();
    expect(registry.list().map((d) => d.id)).toEqual(["MY_SERVER", "MY_CLIENT"]);
    expect(registry.get("MY_SERVER")).toMatchObject({ type: "server", certificates: ["server-rsa"], clientAuth: "required", trustList: null });
    expect(registry.get("my_server")).toBeUndefined();

    const onDisk = JSON.parse(await readFile(file, "utf8")) as { version: number; applications: { id: string }[] };
    expect(onDisk.version).toBe(1);
    expect(onDisk.applications.map((a) => a.id)).toEqual(["MY_SERVER", "MY_CLIENT"]);

    const reloaded = await ApplicationRegistry.load(file);
    expect(reloaded.list()).toEqual(registry.list());
    expect(await readdir(dir)).toEqual(["applications.json"]);
  });

  it("save writes the object's state, creating the file and its directory", async () => {
    const nested = join(dir, "a", "b", "applications.json");
    const registry = await ApplicationRegistry.load(nested);
    await registry.save();
    expect(JSON.parse(await readFile(nested, "utf8"))).toEqual({ version: 1, applications: [] });
  });

  it("hands out copies, so changing one changes nothing", async () => {
    const registry = await seeded();
    registry.get("MY_SERVER")?.certificates.push("mutated");
    registry.list()[0]?.certificates.push("mutated");
    expect(registry.lookup("MY_SERVER").certificates).toEqual(["server-rsa"]);
  });

  it("lookup of an unknown ID is 6002, naming the file and the registered IDs", async () => {
    const registry = await seeded();
    const error = await refusal(async () => registry.lookup("NOPE"));
    expect(error.code).toBe(RC.GSK_IBMI_ERROR_NOT_REGISTERED);
    expect(error.message).toContain(`application ID 'NOPE' is not registered in ${file}; registered: MY_SERVER, MY_CLIENT`);

    const empty = await ApplicationRegistry.load(join(dir, "other.json"));
    expect((await refusal(async () => empty.lookup("X"))).message).toContain("registered: none");
    expect((await refusal(async () => registry.lookup("my_client"))).message).toContain("did you mean 'MY_CLIENT'?");
  });

  it("edits: update, assign, trust (null vs empty), remove", async () => {
    const registry = await seeded();
    const updated = await registry.update("MY_SERVER", { description: "web", protocols: ["TLSv1.3"], sessionLifetime: undefined });
    expect(updated).toMatchObject({ description: "web", protocols: ["TLSv1.3"], certificates: ["server-rsa"], clientAuth: "required" });

    await registry.assign("MY_SERVER", ["server-rsa", "server-ec"], { storeLabels: store });
    await registry.trust("MY_SERVER", ["Root CA"], { storeLabels: store });
    expect(registry.get("MY_SERVER")).toMatchObject({ certificates: ["server-rsa", "server-ec"], trustList: ["Root CA"] });
    await registry.trust("MY_SERVER", []);
    expect((await ApplicationRegistry.load(file)).get("MY_SERVER")?.trustList).toEqual([]);
    await registry.trust("MY_SERVER", null);
    expect((await ApplicationRegistry.load(file)).get("MY_SERVER")?.trustList).toBeNull();

    await registry.remove("MY_CLIENT");
    expect((await ApplicationRegistry.load(file)).list().map((d) => d.id)).toEqual(["MY_SERVER"]);
  });

  it("an unrelated update works even if an assigned label has left the store", async () => {
    const registry = await seeded();
    const shrunk: StoreLabels = { personal: ["server-ec"], ca: [] };
    await expect(registry.update("MY_SERVER", { description: "still fine" }, { storeLabels: shrunk })).resolves.toMatchObject({
      description: "still fine",
    });
  });

  describe("a refused edit leaves the file byte-identical", () => {
    const cases: [string, (r: ApplicationRegistry) => Promise<unknown>, number, RegExp][] = [
      ["bad ID characters", (r) => r.register({ id: "BAD-ID", type: "client" }), RC.GSK_INVALID_PARAMETER, /character '-'/],
      ["ID too long", (r) => r.register({ id: "A".repeat(101), type: "client" }), RC.GSK_INVALID_PARAMETER, /at most 100/],
      ["digit first", (r) => r.register({ id: "9LIVES", type: "client" }), RC.GSK_INVALID_PARAMETER, /must start with a letter/],
      ["duplicate ID", (r) => r.register({ id: "MY_CLIENT", type: "client" }), RC.GSK_INVALID_PARAMETER, /already registered/],
      ["ID differing only by case", (r) => r.register({ id: "my_client", type: "client" }), RC.GSK_INVALID_PARAMETER, /differs only in letter case/],
      [
        "type change on re-registration",
        (r) => r.register({ id: "MY_CLIENT", type: "server" }),
        RC.GSK_INVALID_PARAMETER,
        /registered as a client application and cannot become a server: the type is fixed once registered/,
      ],
      ["type change by update", (r) => r.update("MY_SERVER", { type: "client" }), RC.GSK_INVALID_PARAMETER, /the type is fixed once registered/],
      ["ID change by update", (r) => r.update("MY_SERVER", { id: "OTHER" }), RC.GSK_INVALID_PARAMETER, /the ID cannot be changed/],
      [
        "more than four certificates",
        (r) => r.assign("MY_SERVER", ["a", "b", "c", "d", "e"]),
        RC.GSK_INVALID_PARAMETER,
        /more than four certificates assigned/,
      ],
      [
        "more than four certificates at registration",
        (r) => r.register({ id: "NEW", type: "server", certificates: ["a", "b", "c", "d", "e"] }),
        RC.GSK_INVALID_PARAMETER,
        /more than four certificates assigned/,
      ],
      [
        "unknown label",
        (r) => r.assign("MY_SERVER", ["nope"], { storeLabels: store }),
        RC.GSK_ERROR_BAD_KEYFILE_LABEL,
        /certificate label 'nope' is not in the system store; personal certificates: server-rsa, server-ec, client/,
      ],
      [
        "unknown label at registration",
        (r) => r.register({ id: "NEW", type: "server", certificates: ["Server-RSA"] }, { storeLabels: store }),
        RC.GSK_ERROR_BAD_KEYFILE_LABEL,
        /did you mean 'server-rsa'\?/,
      ],
      [
        "CA label assigned as a certificate",
        (r) => r.assign("MY_SERVER", ["Root CA"], { storeLabels: store }),
        RC.GSK_ERROR_BAD_KEYFILE_LABEL,
        /'Root CA' is a CA certificate \(no private key\)/,
      ],
      [
        "personal label in a trust list",
        (r) => r.trust("MY_SERVER", ["server-rsa"], { storeLabels: store }),
        RC.GSK_ERROR_BAD_KEYFILE_LABEL,
        /'server-rsa' is a personal certificate, not a CA certificate/,
      ],
      [
        "unknown CA label by update",
        (r) => r.update("MY_SERVER", { trustList: ["Nobody CA"] }, { storeLabels: store }),
        RC.GSK_ERROR_BAD_KEYFILE_LABEL,
        /CA label 'Nobody CA' is not in the system store; CA certificates: Root CA, Other CA/,
      ],
      [
        "client with client authentication",
        (r) => r.update("MY_CLIENT", { clientAuth: "required" }),
        RC.GSK_INVALID_PARAMETER,
        /a client cannot have clientAuth 'required'/,
      ],
      ["update of an unknown ID", (r) => r.update("NOPE", { description: "x" }), RC.GSK_IBMI_ERROR_NOT_REGISTERED, /not registered/],
      ["assign to an unknown ID", (r) => r.assign("NOPE", []), RC.GSK_IBMI_ERROR_NOT_REGISTERED, /not registered/],
      ["remove of an unknown ID", (r) => r.remove("NOPE"), RC.GSK_IBMI_ERROR_NOT_REGISTERED, /registered: MY_SERVER, MY_CLIENT/],
    ];

    it.each(cases)("%s", async (_name, edit, code, message) => {
      const registry = await seeded();
      const before = await readFile(file);
      const error = await refusal(() => edit(registry));
      expect(error.code).toBe(code);
      expect(error.message).toMatch(message);
      expect((await readFile(file)).equals(before)).toBe(true);
      // No temporary or lock file left behind either.
      expect(await readdir(dir)).toEqual(["applications.json"]);
      // And the object still works.
      expect(registry.list().map((d) => d.id)).toEqual(["MY_SERVER", "MY_CLIENT"]);
      await registry.update("MY_CLIENT", { description: "after" });
    });
  });

  it("a write interrupted before the rename leaves the old file", async () => {
    const registry = await seeded();
    const before = await readFile(file);
    faults.failRename = true;
    const error = await refusal(() => registry.register({ id: "LOST", type: "client" }));
    expect(error.code).toBe(RC.GSK_KEYFILE_IO_ERROR);
    expect(error.message).toContain(`cannot write the application registry ${file}`);
    expect((await readFile(file)).equals(before)).toBe(true);
    expect(await readdir(dir)).toEqual(["applications.json"]);
    expect(registry.get("LOST")).toBeUndefined();

    faults.failRename = false;
    await registry.register({ id: "KEPT", type: "client" });
    expect((await ApplicationRegistry.load(file)).list().map((d) => d.id)).toEqual(["MY_SERVER", "MY_CLIENT", "KEPT"]);
  });

  describe("a corrupt file is reported with 202 and never overwritten", () => {
    it.each([
      ["not JSON", '{"version": 1, "applications": [', /is not valid JSON/],
      ["an unknown version", '{"version": 2, "applications": []}', /has version 2, but this gskit-tls reads version 1 only/],
      ["no version", '{"applications": []}', /has no 'version' field/],
      ["an unknown top-level field", '{"version": 1, "applications": [], "extra": true}', /unknown top-level field 'extra'/],
      ["an invalid definition", '{"version": 1, "applications": [{"id": "1X", "type": "client"}]}', /invalid definition \(entry 1: application ID '1X' must start/],
      [
        "a duplicate ID",
        '{"version": 1, "applications": [{"id": "A", "type": "client"}, {"id": "a", "type": "client"}]}',
        /defines application ID 'a' twice/,
      ],
    ])("%s", async (_name, content, message) => {
      await writeFile(file, content);
      const error = await refusal(() => ApplicationRegistry.load(file));
      expect(error.code).toBe(RC.GSK_KEYRING_OPEN_ERROR);
      expect(error.message).toContain(file);
      expect(error.message).toMatch(message);
      expect(await readFile(file, "utf8")).toBe(content);
    });

    it("also when it turns corrupt after loading: the edit is refused", async () => {
      const registry = await seeded();
      await writeFile(file, "garbage");
      const error = await refusal(() => registry.register({ id: "NEW", type: "client" }));
      expect(error.code).toBe(RC.GSK_KEYRING_OPEN_ERROR);
      expect(await readFile(file, "utf8")).toBe("garbage");
      expect((await refusal(() => registry.save())).code).toBe(RC.GSK_KEYRING_OPEN_ERROR);
      expect(await readFile(file, "utf8")).toBe("garbage");
      const viaLookup = await refusal(() => lookupApplication("MY_SERVER", { directory: dir }));
      expect(viaLookup.code).toBe(RC.GSK_KEYRING_OPEN_ERROR);
    });

    it("an empty file is an empty registry", async () => {
      await writeFile(file, "");
      expect((await ApplicationRegistry.load(file)).list()).toEqual([]);
    });
  });

  describe("lookupApplication", () => {
    it("honours the directory option and GSKIT_TLS_HOME", async () => {
      const optionDir = join(dir, "opt");
      const envDir = join(dir, "env");
      await (await ApplicationRegistry.load(join(optionDir, "applications.json"))).register({ id: "IN_OPTION", type: "server" });
      await (await ApplicationRegistry.load(join(envDir, "applications.json"))).register({ id: "IN_ENV", type: "client" });
      process.env["GSKIT_TLS_HOME"] = envDir;
      process.env["HOME"] = join(dir, "home");

      const fromOption = await lookupApplication("IN_OPTION", { directory: optionDir });
      expect(fromOption.definition.type).toBe("server");
      expect(fromOption.location).toEqual(systemStoreLocation({ directory: optionDir }));

      const fromEnv = await lookupApplication("IN_ENV");
      expect(fromEnv.location.storeFile).toBe(join(envDir, "system.p12"));

      const error = await refusal(() => lookupApplication("IN_OPTION"));
      expect(error.code).toBe(RC.GSK_IBMI_ERROR_NOT_REGISTERED);
      expect(error.message).toContain(`not registered in ${join(envDir, "applications.json")}; registered: IN_ENV`);

      delete process.env["GSKIT_TLS_HOME"];
      const fromHome = await refusal(() => lookupApplication("IN_ENV"));
      expect(fromHome.message).toContain(join(dir, "home", ".gskit-tls", "applications.json"));
    });
  });

  describe("concurrent edits", () => {
    it("an edit made meanwhile through another object is kept", async () => {
      const first = await seeded();
      const second = await ApplicationRegistry.load(file);
      await first.register({ id: "FROM_FIRST", type: "client" });
      await second.register({ id: "FROM_SECOND", type: "client" });
      await first.update("MY_CLIENT", { description: "changed by first" });
      const ids = (await ApplicationRegistry.load(file)).list().map((d) => d.id);
      expect(ids).toEqual(["MY_SERVER", "MY_CLIENT", "FROM_FIRST", "FROM_SECOND"]);
      expect((await ApplicationRegistry.load(file)).get("MY_CLIENT")?.description).toBe("changed by first");
      // The edit on fresh content is validated against it: the other object's ID is now a duplicate.
      expect((await refusal(() => second.register({ id: "FROM_FIRST", type: "client" }))).message).toMatch(/already registered/);
    });

    it("edits started together on one object all land", async () => {
      const registry = await ApplicationRegistry.load(file);
      await Promise.all(Array.from({ length: 10 }, (_, i) => registry.register({ id: `APP_${String(i)}`, type: "client" })));
      expect((await ApplicationRegistry.load(file)).list()).toHaveLength(10);
    });

    it("a lock left by a process that is gone is broken at once", async () => {
      const registry = await seeded();
      const dead = spawn(process.execPath, ["-e", ""]);
      await exited(dead);
      await writeFile(`${file}.lock`, `${String(dead.pid)} 0123456789abcdef\n`);
      await registry.update("MY_CLIENT", { description: "lock broken" });
      expect(registry.get("MY_CLIENT")?.description).toBe("lock broken");
      expect(await readdir(dir)).toEqual(["applications.json"]);
    });

    it("a lock held by a live process makes an edit wait, then fail with a message naming the lock", { timeout: 15_000 }, async () => {
      const registry = await seeded();
      const before = await readFile(file);
      // Our own pid: alive, and fresh, so not stale.
      await writeFile(`${file}.lock`, `${String(process.pid)} 0123456789abcdef\n`);
      const error = await refusal(() => registry.register({ id: "WAITED", type: "client" }));
      expect(error.code).toBe(RC.GSK_KEYFILE_IO_ERROR);
      expect(error.message).toContain(`is being edited by another process (lock file ${file}.lock)`);
      expect((await readFile(file)).equals(before)).toBe(true);
      // The lock is not ours to remove.
      expect((await readdir(dir)).sort()).toEqual(["applications.json", "applications.json.lock"]);
    });

    it("edits from several processes at once all land", { timeout: 30_000 }, async () => {
      const script = await childScript();
      const children = ["P1", "P2", "P3", "P4"].map((prefix) => runChild(script, ["register", file, prefix]));
      const codes = await Promise.all(children.map((c) => exited(c)));
      expect(codes).toEqual([0, 0, 0, 0]);
      const ids = (await ApplicationRegistry.load(file)).list().map((d) => d.id);
      expect(ids).toHaveLength(20);
    });

    it("a writer killed mid-edit leaves a file that always parses, and its lock does not block", { timeout: 60_000 }, async () => {
      const registry = await seeded();
      // Larger content makes each write take longer, so kills land inside writes more often.
      for (let i = 0; i < 30; i++) await registry.register({ id: `FILL_${String(i)}`, type: "server", description: "x".repeat(2000) });
      await registry.register({ id: "LOOP", type: "client" });
      const script = await childScript();

      for (let round = 0; round < 5; round++) {
        const child = runChild(script, ["loop", file, "LOOP"]);
        await new Promise<void>((ready, failed) => {
          child.stdout?.once("data", () => ready());
          child.once("exit", (code) => failed(new Error(`child exited early (${String(code)})`)));
        });
        // Read while it writes: every read must see a whole file.
        const deadline = Date.now() + 50 + Math.floor(Math.random() * 250);
        while (Date.now() < deadline) {
          const text = await readFile(file, "utf8");
          expect(() => JSON.parse(text) as unknown).not.toThrow();
        }
        const gone = exited(child);
        child.kill("SIGKILL");
        expect(await gone).toBe("SIGKILL");

        const after = await ApplicationRegistry.load(file);
        expect(after.list()).toHaveLength(33);
        expect(after.get("LOOP")?.description).toMatch(/^round \d+$/);
      }
      // A lock the killed writer may have left is broken at once: its process is gone.
      const started = Date.now();
      await registry.update("MY_CLIENT", { description: "after the kills" });
      expect(Date.now() - started).toBeLessThan(2_000);
      expect((await readdir(dir)).filter((n) => n.endsWith(".lock"))).toEqual([]);
      expect((await ApplicationRegistry.load(file)).get("LOOP")?.description).toMatch(/^round \d+$/);
    });
  });
});

/**
 * A child program using the registry: `register <file> <prefix>` registers five IDs;
 * `loop <file> <id>` updates one definition forever, printing a line after its first edit.
 */
async function childScript(): Promise<string> {
  const path = join(dir, "child.mjs");
  const registryUrl = pathToFileURL(join(repoRoot, "src/registry/registry.ts")).href;
  await writeFile(
    path,
    `import { ApplicationRegistry } from ${JSON.stringify(registryUrl)};
const [mode, file, arg] = process.argv.slice(2);
const registry = await ApplicationRegistry.load(file);
if (mode === "register") {
  for (let i = 0; i < 5; i++) await registry.register({ id: arg + "_" + i, type: "client" });
} else {
  for (let i = 0; ; i++) {
    await registry.update(arg, { description: "round " + i });
    if (i === 0) process.stdout.write("ready\\n");
  }
}
`,
  );
  return path;
}

function runChild(script: string, args: string[]): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", script, ...args], { cwd: repoRoot, stdio: ["ignore", "pipe", "inherit"] });
}

function exited(child: ChildProcess): Promise<number | string | null> {
  return new Promise((done) => child.once("exit", (code, signal) => done(signal ?? code)));
}
