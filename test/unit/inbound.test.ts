/**
 * The read queue under a session: a waiting reader takes a chunk straight from the stream's
 * event, and whatever it does not take stays queued, in order, for the next read.
 */
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";

import { Inbound } from "../../src/core/inbound.js";

function readInto(inbound: Inbound, size: number): Promise<Buffer> {
  const target = Buffer.alloc(size);
  return new Promise((resolve) => {
    if (inbound.available > 0) return resolve(target.subarray(0, inbound.copyInto(target, 0, size)));
    inbound.whenReadable(
      0,
      () => resolve(target.subarray(0, inbound.copyInto(target, 0, size))),
      (chunk) => {
        const n = Math.min(size, chunk.length);
        target.set(chunk.subarray(0, n));
        resolve(target.subarray(0, n));
        return n;
      },
    );
  });
}

describe("Inbound", () => {
  it("hands a waiting reader the chunk and queues the part it did not take", async () => {
    const stream = new PassThrough();
    const inbound = new Inbound(stream);
    const first = readInto(inbound, 3);
    stream.write(Buffer.from("abcdefg"));
    expect((await first).toString()).toBe("abc");
    expect(inbound.available).toBe(4);
    stream.write(Buffer.from("hij"));
    await new Promise((r) => setImmediate(r));
    expect((await readInto(inbound, 5)).toString()).toBe("defgh");
    expect((await readInto(inbound, 10)).toString()).toBe("ij");
    expect(inbound.received).toBe(10);
  });

  it("queues what arrives while nobody waits, and a timed-out wait leaves later data queued", async () => {
    const stream = new PassThrough();
    const inbound = new Inbound(stream);
    const timedOut = await new Promise<boolean>((resolve) => inbound.whenReadable(20, resolve, () => 0));
    expect(timedOut).toBe(false);
    stream.write(Buffer.from("late"));
    await new Promise((r) => setImmediate(r));
    expect(inbound.available).toBe(4);
    expect((await readInto(inbound, 10)).toString()).toBe("late");
  });

  it("wakes a waiting reader at end of stream with nothing to take", async () => {
    const stream = new PassThrough();
    const inbound = new Inbound(stream);
    const woke = new Promise<boolean>((resolve) => inbound.whenReadable(0, resolve, () => 0));
    stream.end();
    expect(await woke).toBe(true);
    expect(inbound.end?.kind).toBe("eof");
    expect(inbound.available).toBe(0);
  });
});
