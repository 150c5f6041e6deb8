/**
 * Decrypted bytes waiting to be read. The TLS stream runs in flowing mode into this queue, and
 * reads take from it: a read never changes the stream's mode, leftovers are explicit, and a read
 * that times out just stops waiting (the data stays queued, the session stays usable).
 * Back-pressure: the stream is paused while more than `highWaterMark` bytes wait.
 */
import type { Duplex } from "node:stream";

export type InboundEnd = { kind: "eof" } | { kind: "error"; error: Error };

interface Waiter {
  /** Something to read (queued data or an end) or, with `false`, the wait timed out. */
  ready: (got: boolean) => void;
  /**
   * Takes a chunk straight from the stream's event while nothing is queued; returns how many of
   * its bytes it used, at least one (the rest is queued). Saves a queue round trip per chunk on
   * the read path.
   */
  take: ((chunk: Buffer) => number) | undefined;
  timer: NodeJS.Timeout | undefined;
}

export class Inbound {
  private readonly chunks: Buffer[] = [];
  private head = 0;
  private queued = 0;
  private waiter: Waiter | undefined;
  /** Set once the stream ended or failed; reads drain the queue first. */
  end: InboundEnd | undefined;
  /** Total application bytes received, for "did the peer ever send anything". */
  received = 0;

  constructor(
    private readonly stream: Duplex,
    private readonly highWaterMark = 1024 * 1024,
  ) {
    stream.on("data", (chunk: Buffer) => {
      this.received += chunk.length;
      const w = this.waiter;
      if (w?.take && this.queued === 0) {
        this.waiter = undefined;
        if (w.timer) clearTimeout(w.timer);
        const used = w.take(chunk);
        if (used < chunk.length) this.enqueue(used === 0 ? chunk : chunk.subarray(used));
        return;
      }
      this.enqueue(chunk);
      this.wake();
    });
    stream.on("end", () => this.finish({ kind: "eof" }));
    stream.on("error", (error: Error) => this.finish({ kind: "error", error }));
    stream.on("close", () => this.finish({ kind: "eof" }));
  }

  get available(): number {
    return this.queued;
  }

  private finish(end: InboundEnd): void {
    // The first cause wins: an error followed by 'close' stays an error.
    if (!this.end) this.end = end;
    this.wake();
  }

  private enqueue(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.queued += chunk.length;
    if (this.queued >= this.highWaterMark) this.stream.pause();
  }

  private wake(): void {
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      if (w.timer) clearTimeout(w.timer);
      w.ready(true);
    }
  }

  /**
   * Waits until data is queued or the stream ended. Resolves `true` when there is something to
   * read or an end to report, `false` when `timeoutMs` passed first (0 = no timeout).
   */
  wait(timeoutMs: number): Promise<boolean> {
    if (this.queued > 0 || this.end) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => this.whenReadable(timeoutMs, resolve));
  }

  /**
   * `wait` as a callback, for readers that settle their own promise: one promise per read instead
   * of a chain. `ready(true)` runs inside the stream's event (data queued or end), `ready(false)`
   * when `timeoutMs` passed first (0 = no timeout). With `take`, the next chunk goes to it
   * directly instead (see Waiter.take). Call it only while nothing is queued.
   */
  whenReadable(timeoutMs: number, ready: (got: boolean) => void, take?: (chunk: Buffer) => number): void {
    const waiter: Waiter = { ready, take, timer: undefined };
    if (timeoutMs > 0) {
      waiter.timer = setTimeout(() => {
        if (this.waiter === waiter) this.waiter = undefined;
        ready(false);
      }, timeoutMs);
    }
    this.waiter = waiter;
  }

  /** Copies up to `size` queued bytes into `target` at `offset`; returns how many. */
  copyInto(target: Uint8Array, offset: number, size: number): number {
    let n = 0;
    while (n < size && this.head < this.chunks.length) {
      const chunk = this.chunks[this.head]!;
      const k = Math.min(chunk.length, size - n);
      target.set(k === chunk.length ? chunk : chunk.subarray(0, k), offset + n);
      n += k;
      if (k === chunk.length) this.chunks[this.head++] = EMPTY;
      else this.chunks[this.head] = chunk.subarray(k);
    }
    this.consumed(n);
    return n;
  }

  /** Takes the next queued chunk whole (no copy), or up to `max` bytes of it. */
  take(max = Infinity): Buffer | undefined {
    if (this.head >= this.chunks.length) return undefined;
    const chunk = this.chunks[this.head]!;
    let out: Buffer;
    if (chunk.length <= max) {
      out = chunk;
      this.chunks[this.head++] = EMPTY;
    } else {
      out = chunk.subarray(0, max);
      this.chunks[this.head] = chunk.subarray(max);
    }
    this.consumed(out.length);
    return out;
  }

  private consumed(n: number): void {
    this.queued -= n;
    if (this.head === this.chunks.length) {
      // Drained (the usual case): start over, so an idle session holds no spent slots.
      this.chunks.length = 0;
      this.head = 0;
    } else if (this.head > 64 && this.head * 2 > this.chunks.length) {
      this.chunks.splice(0, this.head);
      this.head = 0;
    }
    if (this.queued < this.highWaterMark / 2 && this.stream.isPaused() && !this.end) this.stream.resume();
  }
}

const EMPTY = Buffer.alloc(0);
