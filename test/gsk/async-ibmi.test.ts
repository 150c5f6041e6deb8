/**
 * IBM i's asynchronous calls (spec §2, §4; reference/gskit-api.md §4.2): IBM's "GSKit secure
 * server with asynchronous handshake / data receive" sample ported call for call — a completion
 * port, gsk_secure_soc_startInit per accepted connection, one worker looping on
 * QsoWaitForIOCompletion, startRecv with fillBuffer 0 and an echo through startSend — against
 * ordinary synchronous gsk_* clients, both ends checked. Then the port's own rules.
 */
import { createServer, connect as netConnect, type Server, type Socket } from "node:net";
import { constants as osConstants } from "node:os";
import { afterEach, describe, expect, it } from "vitest";

import {
  gsk_attribute_get_enum,
  gsk_attribute_set_buffer,
  gsk_attribute_set_enum,
  gsk_attribute_set_numeric_value,
  gsk_environment_close,
  gsk_environment_init,
  gsk_environment_open,
  gsk_secure_soc_close,
  gsk_secure_soc_init,
  gsk_secure_soc_open,
  gsk_secure_soc_read,
  gsk_secure_soc_startInit,
  gsk_secure_soc_startRecv,
  gsk_secure_soc_startSend,
  gsk_secure_soc_write,
  QsoCreateIOCompletionPort,
  QsoDestroyIOCompletionPort,
  QsoWaitForIOCompletion,
  ref,
  type gsk_handle,
  type Qso_OverlappedIO_t,
  GSK_AS400_ASYNCHRONOUS_RECV,
  GSK_CLIENT_SESSION,
  GSK_FD,
  GSK_IBMI_ASYNCHRONOUS_RECV,
  GSK_IBMI_ASYNCHRONOUS_SEND,
  GSK_IBMI_ASYNCHRONOUS_SOC_INIT,
  GSK_IBMI_ERROR_INVALID_IOCOMPLETIONPORT,
  GSK_IBMI_ERROR_INVALID_OVERLAPPEDIO_T,
  GSK_IBMI_ERROR_TIMED_OUT,
  GSK_INVALID_STATE,
  GSK_KEYRING_FILE,
  GSK_KEYRING_PW,
  GSK_OK,
  GSK_OS400_ASYNCHRONOUS_SEND,
  GSK_OS400_ASYNCHRONOUS_SOC_INIT,
  GSK_PROTOCOL_USED,
  GSK_PROTOCOL_USED_TLSV12,
  GSK_PROTOCOL_USED_TLSV13,
  GSK_SERVER_SESSION,
  GSK_SESSION_TYPE,
  GSK_SSL_EXTN_SERVERNAME_REQUEST,
  GSKSECURESOCSTARTINIT,
  GSKSECURESOCSTARTRECV,
  GSKSECURESOCSTARTSEND,
} from "../../src/index.js";
import { tcpPair, type TcpPair } from "../helpers/net.js";
import { makeStore, PASSWORD } from "../helpers/stores.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function environment(role: "server" | "client"): Promise<gsk_handle> {
  const env = ref<gsk_handle>();
  expect(gsk_environment_open(env)).toBe(GSK_OK);
  const store = await makeStore(role === "server" ? { tree: "ecdsa", personal: ["server"] } : { tree: "ecdsa" });
  expect(gsk_attribute_set_buffer(env.value, GSK_KEYRING_FILE, store, 0)).toBe(GSK_OK);
  expect(gsk_attribute_set_buffer(env.value, GSK_KEYRING_PW, PASSWORD, 0)).toBe(GSK_OK);
  expect(gsk_attribute_set_enum(env.value, GSK_SESSION_TYPE, role === "server" ? GSK_SERVER_SESSION : GSK_CLIENT_SESSION)).toBe(GSK_OK);
  expect(await gsk_environment_init(env.value)).toBe(GSK_OK);
  const handle = env.value!;
  cleanups.push(() => gsk_environment_close(ref(handle)));
  return handle;
}

/** What the sample's worker saw, per connection, for the test to compare with the clients. */
interface ServerLog {
  handshakes: number;
  failedHandshakes: { returnValue: number; sameHandle: boolean }[];
  protocols: number[];
  echoed: number;
  endsOfStream: number;
  unexpected: string[];
}

/**
 * The worker thread of IBM's sample: waits on the port, and by `operationCompleted` starts the
 * next step of the connection whose session handle is in `descriptorHandle`.
 */
async function worker(port: number, log: ServerLog): Promise<void> {
  const overlapped = ref<Qso_OverlappedIO_t>();
  const closeSession = async (session: gsk_handle): Promise<void> => {
    const rc = await gsk_secure_soc_close(ref(session));
    if (rc !== GSK_OK) log.unexpected.push(`gsk_secure_soc_close ${rc}`);
  };
  const startReceive = async (session: gsk_handle, io: Qso_OverlappedIO_t): Promise<void> => {
    io.buffer = Buffer.alloc(1024);
    io.bufferLength = 1024;
    io.fillBuffer = 0;
    io.postFlag = 0;
    const rc = gsk_secure_soc_startRecv(session, port, io);
    // GSK_OK: it completed at once, its result is already in the structure.
    if (rc === GSK_OK) await received(session, io);
    else if (rc !== GSK_IBMI_ASYNCHRONOUS_RECV) {
      log.unexpected.push(`gsk_secure_soc_startRecv ${rc}`);
      await closeSession(session);
    }
  };
  const received = async (session: gsk_handle, io: Qso_OverlappedIO_t): Promise<void> => {
    if (io.returnValue !== GSK_OK) {
      log.unexpected.push(`receive completed with ${String(io.returnValue)}`);
      await closeSession(session);
      return;
    }
    const n = io.secureDataTransferSize ?? 0;
    if (n === 0) {
      log.endsOfStream++;
      await closeSession(session);
      return;
    }
    const send: Qso_OverlappedIO_t = { descriptorHandle: session, buffer: Buffer.from(io.buffer!.subarray(0, n)), bufferLength: n };
    const rc = gsk_secure_soc_startSend(session, port, send);
    if (rc !== GSK_IBMI_ASYNCHRONOUS_SEND) {
      log.unexpected.push(`gsk_secure_soc_startSend ${rc}`);
      await closeSession(session);
    }
  };

  for (;;) {
    const rc = await QsoWaitForIOCompletion(port, overlapped, { tv_sec: 30, tv_usec: 0 });
    if (rc === -1) return; // the port was destroyed: shut down
    if (rc === 0) continue;
    const io = overlapped.value!;
    const session = io.descriptorHandle as gsk_handle;
    switch (io.operationCompleted) {
      case GSKSECURESOCSTARTINIT:
        if (io.returnValue !== GSK_OK) {
          log.failedHandshakes.push({ returnValue: io.returnValue!, sameHandle: session !== undefined });
          await closeSession(session);
          break;
        }
        log.handshakes++;
        log.protocols.push(readEnum(session, GSK_PROTOCOL_USED));
        await startReceive(session, io);
        break;
      case GSKSECURESOCSTARTRECV:
        await received(session, io);
        break;
      case GSKSECURESOCSTARTSEND:
        if (io.returnValue !== GSK_OK || io.secureDataTransferSize !== io.bufferLength) {
          log.unexpected.push(`send completed with ${String(io.returnValue)}, ${String(io.secureDataTransferSize)} bytes`);
          await closeSession(session);
          break;
        }
        log.echoed += io.secureDataTransferSize!;
        await startReceive(session, io);
        break;
      default:
        log.unexpected.push(`operationCompleted ${String(io.operationCompleted)}`);
    }
  }
}

function readEnum(h: gsk_handle, id: number): number {
  const v = ref<number>();
  expect(gsk_attribute_get_enum(h, id, v)).toBe(GSK_OK);
  return v.value!;
}

/** The sample's main thread: accept(), gsk_secure_soc_open, GSK_FD, gsk_secure_soc_startInit. */
async function asyncServer(env: gsk_handle, port: number): Promise<{ listener: Server; address: number; startRcs: number[] }> {
  const startRcs: number[] = [];
  const listener = createServer((socket: Socket) => {
    socket.on("error", () => undefined);
    const session = ref<gsk_handle>();
    if (gsk_secure_soc_open(env, session) !== GSK_OK) return socket.destroy();
    gsk_attribute_set_numeric_value(session.value, GSK_FD, socket);
    const io: Qso_OverlappedIO_t = { descriptorHandle: session.value };
    startRcs.push(gsk_secure_soc_startInit(session.value, port, io));
  });
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  return { listener, address: (listener.address() as { port: number }).port, startRcs };
}

/** An ordinary synchronous gsk_* client: handshake, write each message, read its echo, close. */
async function client(env: gsk_handle, tcpPort: number, messages: readonly Buffer[], tls13: boolean): Promise<{ echoes: Buffer[]; protocol: number }> {
  const socket = netConnect(tcpPort, "127.0.0.1");
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  const session = ref<gsk_handle>();
  try {
    expect(gsk_secure_soc_open(env, session)).toBe(GSK_OK);
    gsk_attribute_set_numeric_value(session.value, GSK_FD, socket);
    gsk_attribute_set_buffer(session.value, GSK_SSL_EXTN_SERVERNAME_REQUEST, "localhost", 0);
    if (!tls13) gsk_attribute_set_enum(session.value, 4030, 0);
    expect(await gsk_secure_soc_init(session.value)).toBe(GSK_OK);
    const protocol = readEnum(session.value!, GSK_PROTOCOL_USED);
    const echoes: Buffer[] = [];
    const n = ref<number>();
    const buf = Buffer.alloc(4096);
    for (const message of messages) {
      expect(await gsk_secure_soc_write(session.value, message, message.length, n)).toBe(GSK_OK);
      const parts: Buffer[] = [];
      let got = 0;
      while (got < message.length) {
        expect(await gsk_secure_soc_read(session.value, buf, buf.length, n)).toBe(GSK_OK);
        expect(n.value).toBeGreaterThan(0);
        parts.push(Buffer.from(buf.subarray(0, n.value)));
        got += n.value!;
      }
      echoes.push(Buffer.concat(parts));
    }
    return { echoes, protocol };
  } finally {
    if (session.value) await gsk_secure_soc_close(session);
    socket.destroy();
  }
}

describe("IBM's asynchronous echo server, ported", () => {
  it("handshakes, receives and echoes for several clients at once through one worker", async () => {
    const serverEnv = await environment("server");
    const clientEnv = await environment("client");
    const port = QsoCreateIOCompletionPort();
    expect(port).toBeGreaterThan(0);
    const log: ServerLog = { handshakes: 0, failedHandshakes: [], protocols: [], echoed: 0, endsOfStream: 0, unexpected: [] };
    const running = worker(port, log);
    const server = await asyncServer(serverEnv, port);
    cleanups.push(async () => {
      server.listener.close();
      QsoDestroyIOCompletionPort(port);
      await running;
    });

    const conversations = [
      [Buffer.from("hello"), Buffer.from("world")],
      [Buffer.alloc(5000, "x"), Buffer.from("after a message larger than the receive buffer")],
      [Buffer.from([0, 1, 2, 255, 254, 0])],
    ];
    const results = await Promise.all(conversations.map((messages, i) => client(clientEnv, server.address, messages, i !== 1)));

    // What the clients saw.
    results.forEach((r, i) => {
      expect(r.echoes.map((b) => b.toString("hex"))).toEqual(conversations[i]!.map((b) => b.toString("hex")));
    });
    expect(results.map((r) => r.protocol)).toEqual([GSK_PROTOCOL_USED_TLSV13, GSK_PROTOCOL_USED_TLSV12, GSK_PROTOCOL_USED_TLSV13]);
    // What the server saw: every start went asynchronous, every connection ended cleanly.
    expect(server.startRcs).toEqual([GSK_IBMI_ASYNCHRONOUS_SOC_INIT, GSK_IBMI_ASYNCHRONOUS_SOC_INIT, GSK_IBMI_ASYNCHRONOUS_SOC_INIT]);
    await waitUntil(() => log.endsOfStream === 3);
    expect(log.unexpected).toEqual([]);
    expect(log.handshakes).toBe(3);
    expect(log.failedHandshakes).toEqual([]);
    expect([...log.protocols].sort()).toEqual([GSK_PROTOCOL_USED_TLSV12, GSK_PROTOCOL_USED_TLSV13, GSK_PROTOCOL_USED_TLSV13].sort());
    expect(log.echoed).toBe(conversations.flat().reduce((sum, b) => sum + b.length, 0));
  });

  it("posts a failed handshake with its code and the session handle it was given", async () => {
    const serverEnv = await environment("server");
    const port = QsoCreateIOCompletionPort();
    const log: ServerLog = { handshakes: 0, failedHandshakes: [], protocols: [], echoed: 0, endsOfStream: 0, unexpected: [] };
    const running = worker(port, log);
    const server = await asyncServer(serverEnv, port);
    cleanups.push(async () => {
      server.listener.close();
      QsoDestroyIOCompletionPort(port);
      await running;
    });
    // Not TLS at all.
    const socket = netConnect(server.address, "127.0.0.1");
    socket.on("error", () => undefined);
    cleanups.push(() => socket.destroy());
    await new Promise<void>((resolve) => socket.once("connect", resolve));
    socket.write("GET / HTTP/1.0\r\n\r\n");
    await waitUntil(() => log.failedHandshakes.length === 1);
    expect(log.failedHandshakes[0]!.returnValue).not.toBe(GSK_OK);
    expect(log.failedHandshakes[0]!.sameHandle).toBe(true);
    expect(log.handshakes).toBe(0);
    expect(log.unexpected).toEqual([]);
  });
});

/** Waits for the worker to catch up with what the clients already know. */
async function waitUntil(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe("the asynchronous calls one by one", () => {
  async function connected(): Promise<{ c: gsk_handle; s: gsk_handle; tcp: TcpPair; port: number }> {
    const serverEnv = await environment("server");
    const clientEnv = await environment("client");
    const tcp = await tcpPair();
    const port = QsoCreateIOCompletionPort();
    const s = ref<gsk_handle>();
    const c = ref<gsk_handle>();
    gsk_secure_soc_open(serverEnv, s);
    gsk_secure_soc_open(clientEnv, c);
    cleanups.push(async () => {
      await gsk_secure_soc_close(ref(c.value));
      await gsk_secure_soc_close(ref(s.value));
      tcp.close();
      QsoDestroyIOCompletionPort(port);
    });
    gsk_attribute_set_numeric_value(s.value, GSK_FD, tcp.server);
    gsk_attribute_set_numeric_value(c.value, GSK_FD, tcp.client);
    gsk_attribute_set_buffer(c.value, GSK_SSL_EXTN_SERVERNAME_REQUEST, "localhost", 0);
    // The server's handshake through startInit, the client's synchronously.
    const io: Qso_OverlappedIO_t = { descriptorHandle: "server session" };
    expect(gsk_secure_soc_startInit(s.value, port, io)).toBe(GSK_IBMI_ASYNCHRONOUS_SOC_INIT);
    expect(gsk_secure_soc_startInit(s.value, port, {})).toBe(GSK_INVALID_STATE);
    expect(await gsk_secure_soc_init(c.value)).toBe(GSK_OK);
    const done = ref<Qso_OverlappedIO_t>();
    expect(await QsoWaitForIOCompletion(port, done, { tv_sec: 10, tv_usec: 0 })).toBe(1);
    expect(done.value).toBe(io);
    expect(io).toMatchObject({ operationCompleted: GSKSECURESOCSTARTINIT, returnValue: GSK_OK, descriptorHandle: "server session" });
    return { c: c.value!, s: s.value!, tcp, port };
  }

  it("names the 'went asynchronous' codes under all three spellings", () => {
    expect([GSK_IBMI_ASYNCHRONOUS_RECV, GSK_IBMI_ASYNCHRONOUS_SEND, GSK_IBMI_ASYNCHRONOUS_SOC_INIT]).toEqual([6012, 6013, 6019]);
    expect(GSK_AS400_ASYNCHRONOUS_RECV).toBe(6012);
    expect(GSK_OS400_ASYNCHRONOUS_SEND).toBe(6013);
    expect(GSK_OS400_ASYNCHRONOUS_SOC_INIT).toBe(6019);
    expect(new Set([GSKSECURESOCSTARTINIT, GSKSECURESOCSTARTRECV, GSKSECURESOCSTARTSEND]).size).toBe(3);
  });

  it("startRecv goes asynchronous (6012) on an idle session and posts the bytes when they come", async () => {
    const { c, s, port } = await connected();
    const io: Qso_OverlappedIO_t = { descriptorHandle: 42, buffer: Buffer.alloc(64), bufferLength: 64, fillBuffer: 0 };
    expect(gsk_secure_soc_startRecv(s, port, io)).toBe(GSK_IBMI_ASYNCHRONOUS_RECV);
    const box = ref<Qso_OverlappedIO_t>();
    // Nothing sent yet: the wait times out.
    expect(await QsoWaitForIOCompletion(port, box, { tv_sec: 0, tv_usec: 20_000 })).toBe(0);
    expect(box.value).toBeUndefined();
    const n = ref<number>();
    expect(await gsk_secure_soc_write(c, "twelve bytes", 12, n)).toBe(GSK_OK);
    expect(await QsoWaitForIOCompletion(port, box, { tv_sec: 10, tv_usec: 0 })).toBe(1);
    expect(box.value).toBe(io);
    expect(io).toMatchObject({ operationCompleted: GSKSECURESOCSTARTRECV, returnValue: GSK_OK, secureDataTransferSize: 12, descriptorHandle: 42 });
    expect(io.buffer!.subarray(0, 12).toString()).toBe("twelve bytes");
  });

  it("startRecv completes at once (GSK_OK, nothing posted) when data is already there, unless postFlag is 1", async () => {
    const { c, s, port } = await connected();
    const n = ref<number>();
    expect(await gsk_secure_soc_write(c, "already here", 12, n)).toBe(GSK_OK);
    // Wait until the bytes have arrived: a posted receive would take them.
    const probe: Qso_OverlappedIO_t = { buffer: Buffer.alloc(4), bufferLength: 4, postFlag: 1 };
    expect(gsk_secure_soc_startRecv(s, port, probe)).toBe(GSK_IBMI_ASYNCHRONOUS_RECV);
    const box = ref<Qso_OverlappedIO_t>();
    expect(await QsoWaitForIOCompletion(port, box, { tv_sec: 10, tv_usec: 0 })).toBe(1);
    expect(probe.buffer!.toString()).toBe("alre");
    // The other 8 bytes are queued: this receive completes in the call itself.
    const io: Qso_OverlappedIO_t = { buffer: Buffer.alloc(64), bufferLength: 64, postFlag: 0 };
    expect(gsk_secure_soc_startRecv(s, port, io)).toBe(GSK_OK);
    expect(io).toMatchObject({ returnValue: GSK_OK, secureDataTransferSize: 8, operationCompleted: GSKSECURESOCSTARTRECV });
    expect(io.buffer!.subarray(0, 8).toString()).toBe("ady here");
    expect(await QsoWaitForIOCompletion(port, box, { tv_sec: 0, tv_usec: 20_000 })).toBe(0);
  });

  it("startRecv with fillBuffer 1 waits for the whole length", async () => {
    const { c, s, port } = await connected();
    const io: Qso_OverlappedIO_t = { buffer: Buffer.alloc(10), bufferLength: 10, fillBuffer: 1 };
    expect(gsk_secure_soc_startRecv(s, port, io)).toBe(GSK_IBMI_ASYNCHRONOUS_RECV);
    const n = ref<number>();
    expect(await gsk_secure_soc_write(c, "01234", 5, n)).toBe(GSK_OK);
    const box = ref<Qso_OverlappedIO_t>();
    expect(await QsoWaitForIOCompletion(port, box, { tv_sec: 0, tv_usec: 50_000 })).toBe(0);
    expect(await gsk_secure_soc_write(c, "56789", 5, n)).toBe(GSK_OK);
    expect(await QsoWaitForIOCompletion(port, box, { tv_sec: 10, tv_usec: 0 })).toBe(1);
    expect(io).toMatchObject({ returnValue: GSK_OK, secureDataTransferSize: 10 });
    expect(io.buffer!.toString()).toBe("0123456789");
  });

  it("startSend goes asynchronous (6013) and posts the amount sent; the peer reads it", async () => {
    const { c, s, port } = await connected();
    const io: Qso_OverlappedIO_t = { descriptorHandle: "echo", buffer: Buffer.from("from the async side, and then some"), bufferLength: 20 };
    expect(gsk_secure_soc_startSend(s, port, io)).toBe(GSK_IBMI_ASYNCHRONOUS_SEND);
    const box = ref<Qso_OverlappedIO_t>();
    expect(await QsoWaitForIOCompletion(port, box, { tv_sec: 10, tv_usec: 0 })).toBe(1);
    expect(box.value).toMatchObject({ operationCompleted: GSKSECURESOCSTARTSEND, returnValue: GSK_OK, secureDataTransferSize: 20, descriptorHandle: "echo" });
    const buf = Buffer.alloc(64);
    const n = ref<number>();
    expect(await gsk_secure_soc_read(c, buf, 64, n)).toBe(GSK_OK);
    expect(buf.subarray(0, n.value).toString()).toBe("from the async side,");
  });

  it("startRecv posts end of stream as GSK_OK with 0 bytes when the peer closes", async () => {
    const { c, s, port } = await connected();
    const n = ref<number>();
    expect(await gsk_secure_soc_write(c, "last words", 10, n)).toBe(GSK_OK);
    expect(await gsk_secure_soc_close(ref(c))).toBe(GSK_OK);
    const box = ref<Qso_OverlappedIO_t>();
    const io: Qso_OverlappedIO_t = { buffer: Buffer.alloc(64), bufferLength: 64 };
    expect(gsk_secure_soc_startRecv(s, port, io)).toBe(GSK_IBMI_ASYNCHRONOUS_RECV);
    expect(await QsoWaitForIOCompletion(port, box, { tv_sec: 10, tv_usec: 0 })).toBe(1);
    expect(io).toMatchObject({ returnValue: GSK_OK, secureDataTransferSize: 10 });
    expect(gsk_secure_soc_startRecv(s, port, io)).toBe(GSK_IBMI_ASYNCHRONOUS_RECV);
    expect(await QsoWaitForIOCompletion(port, box, { tv_sec: 10, tv_usec: 0 })).toBe(1);
    expect(io).toMatchObject({ operationCompleted: GSKSECURESOCSTARTRECV, returnValue: GSK_OK, secureDataTransferSize: 0 });
  });

  it("startRecv with operationWaitTime posts 6011 with errno EAGAIN on expiry, and the session stays usable", async () => {
    const { c, s, port } = await connected();
    const io: Qso_OverlappedIO_t = { buffer: Buffer.alloc(64), bufferLength: 64, operationWaitTime: { tv_sec: 1, tv_usec: 0 } };
    expect(gsk_secure_soc_startRecv(s, port, io)).toBe(GSK_IBMI_ASYNCHRONOUS_RECV);
    const box = ref<Qso_OverlappedIO_t>();
    expect(await QsoWaitForIOCompletion(port, box, { tv_sec: 10, tv_usec: 0 })).toBe(1);
    expect(io).toMatchObject({ operationCompleted: GSKSECURESOCSTARTRECV, returnValue: GSK_IBMI_ERROR_TIMED_OUT, secureDataTransferSize: 0 });
    expect(io.errnoValue).toBe(osConstants.errno.EAGAIN);
    const n = ref<number>();
    expect(await gsk_secure_soc_write(c, "late", 4, n)).toBe(GSK_OK);
    const buf = Buffer.alloc(16);
    expect(await gsk_secure_soc_read(s, buf, 16, n)).toBe(GSK_OK);
    expect(buf.subarray(0, n.value).toString()).toBe("late");
  });

  it("startRecv and startSend refuse a bad overlapped structure (6014) and a bad port (6015)", async () => {
    const { s, port } = await connected();
    for (const start of [gsk_secure_soc_startRecv, gsk_secure_soc_startSend]) {
      for (const bad of [undefined, null, 5, "io"]) expect(start(s, port, bad)).toBe(GSK_IBMI_ERROR_INVALID_OVERLAPPEDIO_T);
      const dead = QsoCreateIOCompletionPort();
      QsoDestroyIOCompletionPort(dead);
      for (const bad of [undefined, -1, 0, dead, String(port)]) {
        expect(start(s, bad, { buffer: Buffer.alloc(4), bufferLength: 4 })).toBe(GSK_IBMI_ERROR_INVALID_IOCOMPLETIONPORT);
      }
    }
    // Nothing was started by the refused calls.
    expect(await QsoWaitForIOCompletion(port, ref(), { tv_sec: 0, tv_usec: 0 })).toBe(0);
  });
});

describe("completion ports", () => {
  it("QsoWaitForIOCompletion returns 0 on timeout and leaves the box alone", async () => {
    const port = QsoCreateIOCompletionPort();
    cleanups.push(() => QsoDestroyIOCompletionPort(port));
    const box = ref<Qso_OverlappedIO_t>();
    expect(await QsoWaitForIOCompletion(port, box, { tv_sec: 0, tv_usec: 10_000 })).toBe(0);
    expect(await QsoWaitForIOCompletion(port, box, { tv_sec: 0, tv_usec: 0 })).toBe(0);
    expect(box.value).toBeUndefined();
  });

  it("a destroyed port answers -1, also to a wait already in progress", async () => {
    const port = QsoCreateIOCompletionPort();
    const waiting = QsoWaitForIOCompletion(port, ref(), null);
    const waitingWithTimeout = QsoWaitForIOCompletion(port, ref(), { tv_sec: 30, tv_usec: 0 });
    expect(QsoDestroyIOCompletionPort(port)).toBe(0);
    expect(await waiting).toBe(-1);
    expect(await waitingWithTimeout).toBe(-1);
    expect(await QsoWaitForIOCompletion(port, ref(), { tv_sec: 0, tv_usec: 0 })).toBe(-1);
    expect(QsoDestroyIOCompletionPort(port)).toBe(-1);
  });

  it("ports are independent: a completion goes to the port it was started on", async () => {
    const serverEnv = await environment("server");
    const tcp = await tcpPair();
    cleanups.push(() => tcp.close());
    const a = QsoCreateIOCompletionPort();
    const b = QsoCreateIOCompletionPort();
    cleanups.push(() => QsoDestroyIOCompletionPort(a), () => QsoDestroyIOCompletionPort(b));
    const s = ref<gsk_handle>();
    gsk_secure_soc_open(serverEnv, s);
    cleanups.push(() => gsk_secure_soc_close(ref(s.value)));
    gsk_attribute_set_numeric_value(s.value, GSK_FD, tcp.server);
    const io: Qso_OverlappedIO_t = {};
    expect(gsk_secure_soc_startInit(s.value, b, io)).toBe(GSK_IBMI_ASYNCHRONOUS_SOC_INIT);
    // The peer is not TLS: the handshake fails, and the failure is posted to b only.
    tcp.client.on("error", () => undefined);
    tcp.client.end("not a ClientHello\r\n");
    expect(await QsoWaitForIOCompletion(b, ref(), { tv_sec: 10, tv_usec: 0 })).toBe(1);
    expect(io.operationCompleted).toBe(GSKSECURESOCSTARTINIT);
    expect(io.returnValue).not.toBe(GSK_OK);
    expect(await QsoWaitForIOCompletion(a, ref(), { tv_sec: 0, tv_usec: 0 })).toBe(0);
  });
});
