import { ensurePki } from "./fixtures/pki-manifest.js";

/** Vitest global setup: make sure the generated test PKI exists and is current before tests run. */
export default async function setup(): Promise<void> {
  await ensurePki();
}
