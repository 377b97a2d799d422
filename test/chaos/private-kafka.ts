import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { waitFor } from '../support/wait-for.ts';

const root = new URL('../../', import.meta.url).pathname;

/** The Kafka version `npm run services:up` resolves (KAFKA_VERSION, else the script's default). */
export function kafkaLibs(env: Record<string, string | undefined> = process.env): string {
  const script = readFileSync(path.join(root, 'scripts/lib-services.sh'), 'utf8');
  const version = env.KAFKA_VERSION ?? /^KAFKA_DEFAULT_VERSION="([^"]+)"/m.exec(script)?.[1];
  if (!version) throw new Error('cannot tell the Kafka version from scripts/lib-services.sh');
  const libs = path.join(root, '.cache/kafka', version, 'libs');
  if (!existsSync(path.join(libs, '.complete'))) {
    throw new Error(`no Kafka ${version} jars in ${libs}: run 'npm run services:up' once (it resolves them), then retry`);
  }
  return libs;
}

/**
 * A single-node KRaft broker of the campaign's own, from the jars `npm run services:up`
 * resolved, with its data under the campaign's temp dir and its own loopback ports. It can be
 * frozen, killed and restarted; the shared broker is never touched.
 */
export class PrivateKafka {
  readonly brokers: string;
  readonly #dir: string;
  readonly #libs: string;
  readonly #port: number;
  readonly #controllerPort: number;
  readonly #env: Record<string, string>;
  #child: ChildProcess | null = null;
  #exited: Promise<void> = Promise.resolve();

  /** `env`: added to the JVM's environment (the campaign's run marker). */
  constructor(options: { dir: string; port: number; controllerPort: number; libs: string; env: Record<string, string> }) {
    this.#env = options.env;
    this.#dir = options.dir;
    this.#libs = options.libs;
    this.#port = options.port;
    this.#controllerPort = options.controllerPort;
    this.brokers = `127.0.0.1:${options.port}`;
  }

  get pid(): number | null {
    return this.#child?.pid ?? null;
  }

  #java(heap: string[], args: string[], logFile: string): ChildProcess {
    const java = process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin/java') : 'java';
    const child = spawn(
      java,
      [
        ...heap,
        '-XX:+UseSerialGC',
        '-XX:TieredStopAtLevel=1',
        '-XX:+ExitOnOutOfMemoryError',
        '-Djava.awt.headless=true',
        `-Dlog4j2.configurationFile=${path.join(this.#dir, 'log4j2.xml')}`,
        `-Dkafka.logs.dir=${this.#dir}`,
        '-cp',
        `${this.#libs}/*`,
        ...args,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...this.#env } },
    );
    const log = createWriteStream(logFile, { flags: 'a' });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    return child;
  }

  /** Writes the config, formats the storage and starts the broker. */
  async start(): Promise<void> {
    await mkdir(path.join(this.#dir, 'logs'), { recursive: true });
    const h = '127.0.0.1';
    await writeFile(
      path.join(this.#dir, 'server.properties'),
      [
        'process.roles=broker,controller',
        'node.id=1',
        `controller.quorum.voters=1@${h}:${this.#controllerPort}`,
        `listeners=PLAINTEXT://${h}:${this.#port},CONTROLLER://${h}:${this.#controllerPort}`,
        `advertised.listeners=PLAINTEXT://${h}:${this.#port}`,
        'controller.listener.names=CONTROLLER',
        'inter.broker.listener.name=PLAINTEXT',
        'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
        `log.dirs=${path.join(this.#dir, 'logs')}`,
        'num.partitions=3',
        'default.replication.factor=1',
        'min.insync.replicas=1',
        'offsets.topic.replication.factor=1',
        'transaction.state.log.replication.factor=1',
        'transaction.state.log.min.isr=1',
        'share.coordinator.state.topic.replication.factor=1',
        'share.coordinator.state.topic.min.isr=1',
        'offsets.topic.num.partitions=3',
        'transaction.state.log.num.partitions=3',
        'group.initial.rebalance.delay.ms=0',
        'group.min.session.timeout.ms=1000',
        'auto.create.topics.enable=false',
        'num.network.threads=1',
        'num.io.threads=2',
        'background.threads=2',
        'num.recovery.threads.per.data.dir=1',
        'log.cleaner.threads=1',
        'log.cleaner.dedupe.buffer.size=16777216',
        '',
      ].join('\n'),
    );
    await writeFile(
      path.join(this.#dir, 'log4j2.xml'),
      `<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="warn">
  <Appenders><Console name="stdout" target="SYSTEM_OUT"><PatternLayout pattern="[%d] %p %m (%c)%n"/></Console></Appenders>
  <Loggers><Root level="WARN"><AppenderRef ref="stdout"/></Root></Loggers>
</Configuration>
`,
    );
    // What kafka-storage random-uuid prints: base64url of 16 random bytes, not starting with '-'.
    let clusterId = '-';
    while (clusterId.startsWith('-')) clusterId = randomBytes(16).toString('base64url');
    const format = this.#java(
      ['-Xmx192m'],
      ['kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', path.join(this.#dir, 'server.properties')],
      path.join(this.#dir, 'format.log'),
    );
    const code = await new Promise<number | null>((resolve) => format.on('exit', (c) => resolve(c)));
    if (code !== 0) throw new Error(`formatting the private Kafka storage failed (exit ${code}); see ${this.#dir}/format.log`);
    await this.#launch();
  }

  async #launch(): Promise<void> {
    const child = this.#java(
      ['-Xms128m', '-Xmx512m'],
      ['kafka.Kafka', path.join(this.#dir, 'server.properties')],
      path.join(this.#dir, 'kafka.log'),
    );
    this.#child = child;
    this.#exited = new Promise((resolve) => child.on('exit', () => resolve()));
    let exited = false;
    void this.#exited.then(() => (exited = true));
    const kafka = new Kafka({
      clientId: 'chaos-wait',
      brokers: [this.brokers],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 2000,
      requestTimeout: 5000,
      retry: { retries: 0 },
    });
    await waitFor(
      async () => {
        if (exited) throw new Error(`the private Kafka exited during start; see ${this.#dir}/kafka.log`);
        const admin = kafka.admin();
        try {
          await admin.connect();
          await admin.describeCluster();
          await admin.listTopics();
          return true;
        } finally {
          await admin.disconnect().catch(() => {});
        }
      },
      { timeoutMs: 120_000, intervalMs: 500, what: `the private Kafka on ${this.brokers}` },
    );
  }

  freeze(): void {
    this.#child?.kill('SIGSTOP');
  }

  thaw(): void {
    this.#child?.kill('SIGCONT');
  }

  /** SIGKILL, then a start on the same data (a crash and a supervisor's restart). */
  async crashAndRestart(): Promise<void> {
    this.#child?.kill('SIGKILL');
    await this.#exited;
    await this.#launch();
  }

  async stop(): Promise<void> {
    if (!this.#child || this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    this.#child.kill('SIGCONT');
    this.#child.kill('SIGKILL');
    await this.#exited;
  }

  /** At process exit: no awaiting possible. */
  stopSync(): void {
    this.#child?.kill('SIGCONT');
    this.#child?.kill('SIGKILL');
  }
}
