/**
 * IBM's GSKit secure client flow, ported call for call: connect → environment open → key store
 * and session type → init → session open → GSK_FD and SNI → handshake → write → read → close.
 * Presents a client certificate and checks the server's against its trust list and the name
 * "localhost". Run: npx tsx examples/gsk-client.ts <port> [message]
 */
import { connect } from "node:net";
import { fileURLToPath } from "node:url";

import {
  gsk_attribute_get_buffer, gsk_attribute_set_buffer, gsk_attribute_set_enum, gsk_attribute_set_numeric_value,
  gsk_environment_close, gsk_environment_init, gsk_environment_open, gsk_secure_soc_close, gsk_secure_soc_init,
  gsk_secure_soc_open, gsk_secure_soc_read, gsk_secure_soc_write, gsk_strerror, gskx_last_error, ref, type gsk_handle,
  GSK_CLIENT_SESSION, GSK_CONNECT_CIPHER_SPEC_EX, GSK_CONNECT_SEC_TYPE, GSK_FD, GSK_KEYRING_FILE, GSK_KEYRING_PW,
  GSK_OK, GSK_SESSION_TYPE, GSK_SSL_EXTN_SERVERNAME_REQUEST,
} from "gskit-tls";
import { ensureDemoPki } from "./demo-pki.js";

/** Returns the reply, or throws with the return code's text. */
export async function runGskClient(keyring: string, password: string, port: number, message: string, log = console.log): Promise<string> {
  const sd = connect(port, "127.0.0.1");                                     // socket() + connect()
  await new Promise<void>((resolve, reject) => sd.once("connect", resolve).once("error", reject));
  const env = ref<gsk_handle>();
  const session = ref<gsk_handle>();
  try {
    gsk_environment_open(env);
    gsk_attribute_set_buffer(env.value, GSK_KEYRING_FILE, keyring, 0);
    gsk_attribute_set_buffer(env.value, GSK_KEYRING_PW, password, 0);
    gsk_attribute_set_enum(env.value, GSK_SESSION_TYPE, GSK_CLIENT_SESSION);
    let rc = await gsk_environment_init(env.value);
    if (rc !== GSK_OK) throw new Error(`gsk_environment_init: ${rc} ${gsk_strerror(rc)}: ${gskx_last_error()?.message}`);

    gsk_secure_soc_open(env.value, session);
    gsk_attribute_set_numeric_value(session.value, GSK_FD, sd);
    gsk_attribute_set_buffer(session.value, GSK_SSL_EXTN_SERVERNAME_REQUEST, "localhost", 0); // SNI and expected name
    rc = await gsk_secure_soc_init(session.value);
    if (rc !== GSK_OK) throw new Error(`gsk_secure_soc_init: ${rc} ${gsk_strerror(rc)}: ${gskx_last_error()?.message}`);

    const text = ref<string>();
    const len = ref<number>();
    gsk_attribute_get_buffer(session.value, GSK_CONNECT_SEC_TYPE, text, len);
    const protocol = text.value;
    gsk_attribute_get_buffer(session.value, GSK_CONNECT_CIPHER_SPEC_EX, text, len);
    log(`client: ${protocol} ${text.value}`);

    const amtWritten = ref<number>();
    rc = await gsk_secure_soc_write(session.value, message, Buffer.byteLength(message), amtWritten);
    if (rc !== GSK_OK) throw new Error(`gsk_secure_soc_write: ${rc} ${gsk_strerror(rc)}`);
    const buff = Buffer.alloc(1024);
    const amtRead = ref<number>();
    rc = await gsk_secure_soc_read(session.value, buff, buff.length, amtRead);
    if (rc !== GSK_OK) throw new Error(`gsk_secure_soc_read: ${rc} ${gsk_strerror(rc)}`);
    const reply = buff.subarray(0, amtRead.value).toString();
    log(`client: server echoed '${reply}'`);
    return reply;
  } finally {
    if (session.value) await gsk_secure_soc_close(session);
    sd.destroy();                                                            // close(sd)
    if (env.value) gsk_environment_close(env);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const pki = await ensureDemoPki();
  await runGskClient(pki.clientStore, pki.password, Number(process.argv[2]), process.argv[3] ?? "hello from gsk-client");
}
