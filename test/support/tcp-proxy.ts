import net from 'node:net';

/**
 * A TCP proxy in front of a real service, so a test can cut the service off (connections refused)
 * and bring it back on the same port, without stopping the shared service itself.
 */
export class TcpProxy {
  readonly #target: { host: string; port: number };
  readonly #sockets = new Set<net.Socket>();
  #server: net.Server | null = null;
  #refusing = false;
  #frozen = false;
  readonly #held = new Set<net.Socket>();
  /** Connections cut while refusing. */
  refused = 0;
  port = 0;

  constructor(target: { host: string; port: number }) {
    this.#target = target;
  }

  async start(): Promise<void> {
    const server = net.createServer((client) => {
      if (this.#refusing) {
        this.refused++;
        client.destroy();
        return;
      }
      if (this.#frozen) {
        // A hung server: the connection is accepted, and nothing ever answers.
        this.#held.add(client);
        client.on('close', () => this.#held.delete(client));
        client.on('error', () => client.destroy());
        return;
      }
      const upstream = net.connect(this.#target.port, this.#target.host);
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as net.AddressInfo).port;
    this.#server = server;
  }

  /** Cuts the open connections and every new one (counted in `refused`) until `heal()`. */
  cut(): void {
    this.#refusing = true;
    for (const s of this.#sockets) s.destroy();
  }

  /**
   * Hangs the service: open connections stop moving bytes and new ones are accepted but never
   * answered (a frozen process, a black-holed network), until `heal()`.
   */
  freeze(): void {
    this.#frozen = true;
    for (const s of this.#sockets) s.pause();
  }

  heal(): void {
    this.#refusing = false;
    this.#frozen = false;
    for (const s of this.#sockets) s.resume();
    for (const s of this.#held) s.destroy();
  }

  /** Closes the proxy for good. */
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    for (const s of [...this.#sockets, ...this.#held]) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
