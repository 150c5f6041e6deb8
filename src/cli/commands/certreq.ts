/** `gskit certreq`: certificate requests whose keys wait beside the store until `cert receive`. */
import { resolve } from "node:path";

import { RC } from "../../codes.js";
import { GskError } from "../../errors.js";
import { writeFileAtomic } from "../../internal/atomic-file.js";
import { createCertificateRequest, listStore, parseSubjectAltNames, requestDbPathFor } from "../../keystore/edit.js";
import { EXIT_OK, need, parseOptions, printJson, printTable, runGroup, STORE_OPTIONS, storeOf, type Action, type CliContext } from "../io.js";
import { KEY_OPTIONS, keySpec } from "./cert.js";

const create: Action = {
  usage: `create --db FILE|*SYSTEM [--pw PASSWORD | --stash] --label LABEL --dn "CN=…,O=…" --file REQUEST.pem [--san dns:NAME,ip:ADDR,…] [--key rsa|ec-p256|ec-p384|ed25519] [--size BITS]
  Makes a key and a PKCS#10 request for it (written to --file, PEM). The key is kept, encrypted
  with the store password, in the request database beside the store (FILE.rdb) until the signed
  certificate is received with 'gskit cert receive'.`,
  async run(context, argv) {
    const { values } = parseOptions(argv, { ...STORE_OPTIONS, ...KEY_OPTIONS, label: { type: "string" }, dn: { type: "string" }, file: { type: "string" }, san: { type: "string" } });
    const { file, access } = storeOf(context, values);
    const label = need(values, "label");
    const target = resolve(need(values, "file"));
    const csr = await createCertificateRequest(file, access, {
      label,
      subject: need(values, "dn"),
      subjectAltNames: values.san !== undefined ? parseSubjectAltNames(values.san) : undefined,
      ...keySpec(values),
    });
    try {
      await writeFileAtomic(target, csr, 0o644);
    } catch (error) {
      throw new GskError(RC.GSK_KEYFILE_IO_ERROR, `request file ${target} cannot be written (the request stays pending in ${requestDbPathFor(file)}): ${(error as Error).message}`, { cause: error });
    }
    context.stdout.write(`wrote the request for '${label}' to ${target}; its key waits in ${requestDbPathFor(file)}\n`);
    return EXIT_OK;
  },
};

const list: Action = {
  usage: `list --db FILE|*SYSTEM [--pw PASSWORD | --stash] [--json]
  Lists the pending requests (label, subject, when made).`,
  async run(context, argv) {
    const { values } = parseOptions(argv, { ...STORE_OPTIONS, json: { type: "boolean" } });
    const { file, access } = storeOf(context, values);
    const { pendingRequests } = await listStore(file, access);
    if (values.json === true) printJson(context.stdout, pendingRequests);
    else printTable(context.stdout, ["LABEL", "CREATED", "SUBJECT"], pendingRequests.map((r) => [r.label, r.created, r.subject]));
    return EXIT_OK;
  },
};

export const CERTREQ_ACTIONS: Readonly<Record<string, Action>> = { create, list };

export async function run(context: CliContext): Promise<number> {
  return runGroup(context, "certreq", "Certificate requests (PKCS#10) for a CA to sign.", CERTREQ_ACTIONS);
}
