/** Real TCP on 127.0.0.1, port 0: a connected pair of sockets, as accept() and connect() give. */
import { createServer, connect, type Socket, type Server } from "node:net";

export interface TcpPair {
  client: Socket;
  server: Socket;
  close(): void;
}

export async function tcpPair(): Promise<TcpPair> {
  const listener: Server = createServer();
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  const port = (listener.address() as { port: number }).port;
  const accepted = new Promise<Socket>((resolve) => listener.once("connection", resolve));
  const client = connect(port, "127.0.0.1");
  await new Promise<void>((resolve, reject) => {
    client.once("connect", resolve);
    client.once("error", reject);
  });
  const server = await accepted;
  listener.close();
  return {
    client,
    server,
    close() {
      client.destroy();
      server.destroy();
    },
  };
}
