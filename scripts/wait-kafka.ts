/**
 * Waits until a Kafka broker answers a real metadata request through kafkajs (the client the
 * service uses), printing a dot per failed attempt. Used by scripts/services-up.sh.
 *
 * Usage: node scripts/wait-kafka.ts [brokers=127.0.0.1:9092] [deadlineSeconds=90]
 * Exit code 0 when ready, 1 when the deadline passed.
 */
import kafkajs from 'kafkajs';

const { Kafka, logLevel } = kafkajs;

const brokers = (process.argv[2] ?? '127.0.0.1:9092').split(',');
const deadlineSeconds = Number(process.argv[3] ?? '90');
const deadline = Date.now() + deadlineSeconds * 1000;

const kafka = new Kafka({
  clientId: 'dialer-webhooks-wait',
  brokers,
  logLevel: logLevel.NOTHING,
  connectionTimeout: 2000,
  requestTimeout: 5000,
  retry: { retries: 0 },
});

let lastError = 'no attempt made';
for (;;) {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    await admin.listTopics();
    process.stdout.write(` ready (cluster ${cluster.clusterId}, controller ${String(cluster.controller ?? 'none')})\n`);
    await admin.disconnect();
    process.exit(0);
  } catch (error) {
    lastError = error instanceof Error ? error.message : String(error);
    await admin.disconnect().catch(() => undefined);
  }
  if (Date.now() >= deadline) {
    process.stdout.write(`\nKafka at ${brokers.join(',')} not ready after ${String(deadlineSeconds)}s: ${lastError}\n`);
    process.exit(1);
  }
  process.stdout.write('.');
  await new Promise((resolve) => setTimeout(resolve, 1000));
}
