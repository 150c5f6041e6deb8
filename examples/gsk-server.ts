/**
 * IBM's GSKit secure server flow (IBM i "GSKit secure server" samples), ported call for call:
 * environment open → key store and session type → init → accept → session open → GSK_FD →
 * handshake → read → echo → close. Asks for a client certificate (mutual TLS) and prints what it
 * learned about the client. Run: npx tsx examples/gsk-server.ts [port]
 */
import { createServer, type Socket } from "node:net";
import { fileURLToPath } from "node:url";

import {
  gsk_attribute_get_cert_info, gsk_attribute_get_numeric_value, gsk_attribute_set_buffer, gsk_attribute_set_enum,
  gsk_attribute_set_numeric_value, gsk_environment_close, gsk_environment_init, gsk_environment_open,
  gsk_secure_soc_close, gsk_secure_soc_init, gsk_secure_soc_open, gsk_secure_soc_read, gsk_secure_soc_write,
  gsk_strerror, gskx_last_error, ref, type gsk_cert_data_elem, type gsk_handle,
  CERT_DN_PRINTABLE, GSK_CERTIFICATE_VALIDATION_CODE, GSK_FD, GSK_KEYRING_FILE, GSK_KEYRING_PW, GSK_OK,
  GSK_PARTNER_CERT_INFO, GSK_SERVER_SESSION_WITH_CL_AUTH, GSK_SESSION_TYPE,
} from "gskit-tls";
import { ensureDemoPki } from "./demo-pki.js";

export interface GskServer { port: number; close(): Promise<void> }

export async function startGskServer(keyring: string, password: string, port = 0, log = console.log): Promise<GskServer> {
  const env = ref<gsk_handle>();
  let rc = gsk_environment_open(env);                                      // gsk_environment_open(&my_env_handle)
  if (rc !== GSK_OK) throw new Error(`gsk_environment_open: ${gsk_strerror(rc)}`);
  gsk_attribute_set_buffer(env.value, GSK_KEYRING_FILE, keyring, 0);        // the key store (or GSK_IBMI_APPLICATION_ID)
  gsk_attribute_set_buffer(env.value, GSK_KEYRING_PW, password, 0);
  gsk_attribute_set_enum(env.value, GSK_SESSION_TYPE, GSK_SERVER_SESSION_WITH_CL_AUTH);
  rc = await gsk_environment_init(env.value);                                // gsk_environment_init(my_env_handle)
  if (rc !== GSK_OK) throw new Error(`gsk_environment_init: ${gsk_strerror(rc)}: ${gskx_last_error()?.message}`);

  const listener = createServer((sd) => void serve(env.value!, sd, log));   // socket(), bind(), listen(), accept()
  await new Promise<void>((resolve) => listener.listen(port, "127.0.0.1", resolve));
  return {
    port: (listener.address() as { port: number }).port,
    close: () => new Promise<void>((resolve) => listener.close(() => { gsk_environment_close(env); resolve(); })),
  };
}

async function serve(env: gsk_handle, sd: Socket, log: (line: string) => void): Promise<void> {
  const session = ref<gsk_handle>();
  try {
    gsk_secure_soc_open(env, session);                                       // gsk_secure_soc_open(env, &my_session_handle)
    gsk_attribute_set_numeric_value(session.value, GSK_FD, sd);              // GSK_FD = the accepted socket
    let rc = await gsk_secure_soc_init(session.value);                       // the handshake
    if (rc !== GSK_OK) return log(`server: gsk_secure_soc_init: ${rc} ${gsk_strerror(rc)}: ${gskx_last_error()?.message}`);

    const code = ref<number>();
    gsk_attribute_get_numeric_value(session.value, GSK_CERTIFICATE_VALIDATION_CODE, code);
    const elements = ref<gsk_cert_data_elem[]>();
    const count = ref<number>();
    if (gsk_attribute_get_cert_info(session.value, GSK_PARTNER_CERT_INFO, elements, count) === GSK_OK) {
      const dn = elements.value!.find((e) => e.cert_data_id === CERT_DN_PRINTABLE)?.cert_data_p;
      log(`server: client certificate ${String(dn)}, validation code ${code.value}`);
    }

    const buff = Buffer.alloc(1024);
    const amtRead = ref<number>();
    rc = await gsk_secure_soc_read(session.value, buff, buff.length, amtRead); // gsk_secure_soc_read(..., &amtRead)
    if (rc !== GSK_OK || amtRead.value === 0) return log(`server: read: ${rc} ${gsk_strerror(rc)}`);
    log(`server: received '${buff.subarray(0, amtRead.value).toString()}'`);
    const amtWritten = ref<number>();
    rc = await gsk_secure_soc_write(session.value, buff, amtRead.value!, amtWritten); // echo it back
    if (rc !== GSK_OK || amtWritten.value !== amtRead.value) log(`server: write: ${rc} ${gsk_strerror(rc)}`);
  } finally {
    if (session.value) await gsk_secure_soc_close(session);                  // gsk_secure_soc_close(&my_session_handle)
    sd.destroy();                                                            // close(sd)
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const pki = await ensureDemoPki();
  const server = await startGskServer(pki.serverStore, pki.password, Number(process.argv[2] ?? 0));
  console.log(`gsk server listening on 127.0.0.1:${server.port} (Ctrl-C to stop)`);
}
