/**
 * The idiomatic session: Promises, `for await` over incoming data, a Node `Duplex` view, and
 * `await using`. It is a view of the same core session the gsk_* layer drives.
 */
import type { X509Certificate } from "node:crypto";
import { Duplex } from "node:stream";
import { inspect, type InspectOptionsStylized } from "node:util";

import type { SessionCore } from "../core/session.js";

/** One TLS connection after a successful handshake: read, write, iterate, close. */
export class Session implements AsyncIterable<Buffer> {
  private duplexView: Duplex | undefined;

  /** @internal */
  constructor(private readonly core: SessionCore) {}

  /** Only safe facts (state, protocol, cipher, peer): never what the environment holds. */
  [inspect.custom](_depth: number, options: InspectOptionsStylized, show: typeof inspect): string {
    return `Session ${show(this.core.summary(), options)}`;
  }

  /** Negotiated protocol: `"TLSv1.3"`, `"TLSv1.2"`, … */
  get protocol(): string {
    return this.core.handshake?.protocol ?? "";
  }

  /** Negotiated cipher suite, IANA name. */
  get cipher(): string {
    return this.core.handshake?.cipher ?? "";
  }

  /** True when the session was resumed (abbreviated handshake). */
  get resumed(): boolean {
    return this.core.handshake?.reused ?? false;
  }

  /** 0, or the return code of the peer certificate's validation failure (with dangerousPassthru, or a missing optional client certificate: 403). */
  get validationCode(): number {
    return this.core.validationCode;
  }

  /** The peer's certificate, if it sent one. */
  get peerCertificate(): X509Certificate | undefined {
    return this.core.peerChain[0];
  }

  /** The peer's chain, leaf first, as validated. */
  get peerChain(): readonly X509Certificate[] {
    return this.core.peerChain;
  }

  /** Server: the SNI name the client asked for. Client: the name it sent. */
  get servername(): string | undefined {
    return this.core.handshake?.servername;
  }

  /** Reads the next chunk as it arrived (at most `max` bytes); `null` at end of stream. */
  read(max?: number): Promise<Buffer | null> {
    return this.core.readChunk(max);
  }

  /** Writes all of `data`; resolves once it is handed to the socket (back-pressure honoured). */
  write(data: string | Uint8Array): Promise<void> {
    return this.core.write(typeof data === "string" ? Buffer.from(data) : data);
  }

  /** Sends close_notify and frees the session. Closing twice is harmless. */
  async close(): Promise<void> {
    if (this.core.state === "closed") return;
    await this.core.close();
  }

  /** `for await (const chunk of session)`: each chunk as it arrives, until end of stream. */
  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    for (;;) {
      const chunk = await this.core.readChunk();
      if (!chunk) return;
      yield chunk;
    }
  }

  /** `await using session = …` closes it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * The session as a Node `Duplex`, to plug into `stream.pipeline` or hand to `http.Server`
   * (`server.emit("connection", session.duplex())`). Ending the writable side sends close_notify
   * and is a half-close: what the peer still sends can be read until it ends too.
   * The first call creates it; later calls return the same stream.
   */
  duplex(): Duplex {
    if (this.duplexView) return this.duplexView;
    const core = this.core;
    let reading = false;
    const view: Duplex = new Duplex({
      allowHalfOpen: true,
      read() {
        if (reading) return;
        reading = true;
        core.readChunk().then(
          (chunk) => {
            reading = false;
            if (!chunk) view.push(null);
            else if (view.push(chunk)) view.read(0);
          },
          (error: unknown) => {
            reading = false;
            view.destroy(error as Error);
          },
        );
      },
      write(chunk: Buffer, _encoding, callback) {
        core.write(chunk).then(() => callback(), callback);
      },
      // A half-close: close_notify goes out and reading goes on until the peer ends too (closing
      // the session here would drop what the peer still sends). Once both sides have ended the
      // view is destroyed (autoDestroy), which closes the session.
      final(callback) {
        (core.state === "ready" ? core.endWriting() : Promise.resolve()).then(() => callback(), callback);
      },
      destroy(error, callback) {
        if (core.state !== "closed") core.close().catch(() => undefined);
        callback(error);
      },
    });
    Object.assign(view, {
      session: this,
      encrypted: true,
      remoteAddress: undefined as string | undefined,
      setTimeout: () => view,
      setNoDelay: () => view,
      setKeepAlive: () => view,
    });
    this.duplexView = view;
    return view;
  }
}
