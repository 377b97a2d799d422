/**
 * `npm test`: makes sure real Kafka, Postgres and a schema registry are there, then runs every
 * unit and integration test with Node's test runner.
 *
 * Where the services come from, first match wins:
 *  1. KAFKA_BROKERS and DATABASE_URL (and SCHEMA_REGISTRY_URL) already set: used as they are;
 *  2. a container runtime answering (Docker or Podman socket): testcontainers starts them;
 *  3. otherwise the project's own scripts start local services (`npm run services:up`).
 *
 * Arguments: test files or globs to run instead of all (e.g. `npm test -- test/unit/*.test.ts`).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const unitOnly = args.length > 0 && args.every((a) => a.startsWith('test/unit/'));

function run(cmd: string, argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { cwd: root, env, stdio: 'inherit' });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

function containerRuntime(): boolean {
  if (process.env.TESTCONTAINERS === 'off') return false;
  const sockets = ['/var/run/docker.sock', `${process.env.XDG_RUNTIME_DIR ?? ''}/podman/podman.sock`];
  if (!process.env.DOCKER_HOST && !sockets.some((s) => existsSync(s))) return false;
  return spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
}

async function withContainers(env: NodeJS.ProcessEnv): Promise<() => Promise<void>> {
  // Loaded only here: machines without a container runtime never need it.
  const { GenericContainer, Wait } = await import('testcontainers');
  console.log('test: starting Postgres, Kafka and a schema registry with testcontainers');
  const pg = await new GenericContainer('postgres:15.10')
    .withEnvironment({ POSTGRES_USER: 'webhooks', POSTGRES_PASSWORD: 'webhooks', POSTGRES_DB: 'webhooks' })
    .withExposedPorts(5432)
    .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
    .start();
  const kafkaPort = 29092;
  const kafka = await new GenericContainer('apache/kafka:4.1.1')
    .withExposedPorts({ container: 9092, host: kafkaPort })
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${kafkaPort}`,
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .start();
  const registry = await new GenericContainer('apicurio/apicurio-registry:3.0.6')
    .withExposedPorts(8080)
    .withWaitStrategy(Wait.forHttp('/apis/ccompat/v7/subjects', 8080))
    .start();
  env.DATABASE_URL = `postgres://webhooks:webhooks@${pg.getHost()}:${pg.getMappedPort(5432)}/webhooks`;
  env.KAFKA_BROKERS = `127.0.0.1:${kafkaPort}`;
  env.SCHEMA_REGISTRY_URL = `http://${registry.getHost()}:${registry.getMappedPort(8080)}/apis/ccompat/v7`;
  // Tests that read the services' processes from /proc (the bench's box accounting) skip on this.
  env.TEST_SERVICES = 'testcontainers';
  return async () => {
    await Promise.all([pg.stop(), kafka.stop(), registry.stop()]);
  };
}

async function main(): Promise<number> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  let teardown: () => Promise<void> = async () => {};
  if (!unitOnly) {
    if (env.KAFKA_BROKERS && env.DATABASE_URL) {
      console.log(`test: using KAFKA_BROKERS=${env.KAFKA_BROKERS} and the DATABASE_URL from the environment`);
    } else if (containerRuntime()) {
      teardown = await withContainers(env);
    } else {
      console.log('test: no container runtime; starting the local services (npm run services:up)');
      if ((await run('bash', ['scripts/services-up.sh'])) !== 0) return 1;
      env.KAFKA_BROKERS ??= '127.0.0.1:9092';
      env.DATABASE_URL ??= 'postgres://webhooks:webhooks@127.0.0.1:5432/webhooks';
    }
    if (!env.SCHEMA_REGISTRY_URL) {
      console.log('test: SCHEMA_REGISTRY_URL is not set; starting the local schema registry (scripts/registry-up.sh)');
      if ((await run('bash', ['scripts/registry-up.sh'])) !== 0) return 1;
      env.SCHEMA_REGISTRY_URL = 'http://127.0.0.1:8081/apis/ccompat/v7';
    }
  }
  const files = args.length > 0 ? args : ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts'];
  let code = await run(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=300000', ...files], env);
  // Tests that take a shared service down (freeze the broker) run last and alone, and only
  // against the local broker this project's scripts started (its pid is known).
  if (args.length === 0) {
    const pidFile = `${root}.run/kafka.pid`;
    if (existsSync(pidFile) && (env.KAFKA_BROKERS ?? '') === '127.0.0.1:9092') {
      console.log('test: outage tests (test/disruptive), alone');
      const c = await run(process.execPath, ['--test', '--test-concurrency=1', '--test-timeout=300000', 'test/disruptive/**/*.test.ts'], {
        ...env,
        KAFKA_PID_FILE: pidFile,
      });
      code = code || c;
    } else {
      console.log('test: outage tests (test/disruptive) NOT run: they need the local broker started by npm run services:up');
    }
  }
  await teardown();
  return code;
}

process.exitCode = await main();
