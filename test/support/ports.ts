import net from 'node:net';

/**
 * A loopback port nothing listens on right now (bound once, then released): a server to start
 * there, or a refused connection for tests of an unreachable service.
 */
export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}
