/**
 * The admin command line: `dialer-webhooks <command>` (also `node src/cli/main.ts <command>`).
 * This entry file and bin/dialer-webhooks.js are the only CLI files that touch `process`: argv,
 * the environment handed to loadConfig, stdout/stderr and the exit code. Everything printed goes
 * through output.ts. Exit codes: see cli-errors.ts (EXIT).
 */
import pkg from '../../package.json' with { type: 'json' };
import { ConfigError, MigrationError } from '../errors.ts';
import { groupHelpText, helpText, parseCommand, PROGRAM, type CommandSpec } from './args.ts';
import { createCliContext, describeConnectError, errorCode, isUnreachableError, type Command } from './cli-context.ts';
import { CommandFailedError, DatabaseUnreachableError, EXIT, UsageError } from './cli-errors.ts';
import { DELIVERY_COMMANDS } from './deliveries-command.ts';
import { ENDPOINT_COMMANDS } from './endpoints-command.ts';
import { migrateCommand } from './migrate-command.ts';
import { createOutput, type Output, type Writable } from './output.ts';
import { recoverCommand, redeliverCommand } from './redeliver-command.ts';
import { replayCommand } from './replay-command.ts';
import { REPLAY_COMMANDS } from './replays-command.ts';

const runSpec: CommandSpec = {
  name: 'run',
  summary: 'Run the dispatcher service (the container entry point).',
  options: {},
  description:
    'Consumes the input topics and delivers webhooks until SIGTERM or SIGINT (a second signal forces\nthe exit). Configured entirely by environment variables (see README). Exit codes of the service:\n0 after a clean stop, 1 on a failure at start or a consumer that stopped for good, 2 on bad\nconfiguration, 130/143 when a second signal forced the exit.',
};

interface Group {
  name: string;
  summary: string;
  commands: readonly Command[];
}

const GROUPS: readonly Group[] = [
  { name: 'endpoints', summary: 'Manage webhook endpoints.', commands: ENDPOINT_COMMANDS },
  { name: 'deliveries', summary: 'Read the delivery log.', commands: DELIVERY_COMMANDS },
  { name: 'replays', summary: 'Follow and cancel replays requested with webhooks.replay().', commands: REPLAY_COMMANDS },
];

const SINGLE: readonly Command[] = [migrateCommand, redeliverCommand, recoverCommand, replayCommand];

function commandLabel(spec: CommandSpec): string {
  return [spec.name, ...(spec.positionals ?? [])].join(' ');
}

function programHelp(): string {
  const commands = [
    runSpec,
    {
      name: 'admin',
      summary: 'Run the web admin (ADMIN_TOKEN required; ADMIN_HTTP_HOST:ADMIN_HTTP_PORT, default 127.0.0.1:8080).',
      options: {},
    },
    migrateCommand.spec,
    ...GROUPS.flatMap((g) => g.commands.map((c) => c.spec)),
    redeliverCommand.spec,
    recoverCommand.spec,
    replayCommand.spec,
  ];
  return groupHelpText(
    `${PROGRAM} <command> [options]`,
    `Admin command line of dialer-webhooks ${pkg.version}. Configuration comes from the environment\n(DATABASE_URL, ADMIN_MIGRATIONS_DIR, … as for the service).`,
    commands.map((s) => ({ name: commandLabel(s), summary: s.summary })),
    `Every command takes --help and --json (print JSON for scripts instead of tables). Secrets are\nmasked (whsec_abcd…) except right after add and rotate-secret; endpoints list, add and update\ntake --show-secrets to print them in full.\nRun '${PROGRAM} <command> --help' for a command's options.`,
  );
}

function groupHelp(group: Group): string {
  return groupHelpText(
    `${PROGRAM} ${group.name} <subcommand> [options]`,
    group.summary,
    group.commands.map((c) => ({ name: commandLabel(c.spec).slice(group.name.length + 1), summary: c.spec.summary })),
    `Run '${PROGRAM} ${group.name} <subcommand> --help' for a subcommand's options.`,
  );
}

interface Resolved {
  command: Command | 'run' | 'admin';
  rest: string[];
}

/** Finds the command named by the leading words of argv; a usage error (with the right help) otherwise. */
function resolve(argv: readonly string[], out: Output): Resolved | number {
  const [first, second] = argv;
  if (first === undefined) {
    out.error(programHelp().trimEnd());
    return EXIT.usage;
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    const topic = argv.slice(1).filter((a) => !a.startsWith('-'));
    if (topic.length === 0) {
      out.line(programHelp().trimEnd());
      return EXIT.ok;
    }
    return resolve([...topic, '--help'], out);
  }
  if (first === '--version' || first === 'version') {
    out.line(pkg.version);
    return EXIT.ok;
  }
  if (first === 'run') return { command: 'run', rest: argv.slice(1) };
  if (first === 'admin') return { command: 'admin', rest: argv.slice(1) };
  const single = SINGLE.find((c) => c.spec.name === first);
  if (single) return { command: single, rest: argv.slice(1) };
  const group = GROUPS.find((g) => g.name === first);
  if (group) {
    if (second === '--help' || second === '-h') {
      out.line(groupHelp(group).trimEnd());
      return EXIT.ok;
    }
    const sub = group.commands.find((c) => c.spec.name === `${group.name} ${second}`);
    if (sub) return { command: sub, rest: argv.slice(2) };
    out.error(
      `${PROGRAM}: ${second === undefined ? `${group.name}: missing subcommand` : `unknown subcommand "${group.name} ${second}"`}\n`,
    );
    out.error(groupHelp(group).trimEnd());
    return EXIT.usage;
  }
  out.error(`${PROGRAM}: unknown command ${JSON.stringify(first)}\n`);
  out.error(programHelp().trimEnd());
  return EXIT.usage;
}

/**
 * Runs one CLI invocation and resolves with its exit code; never throws. `env` is what
 * loadConfig reads (the process environment in production).
 */
export async function main(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  stdout: Writable,
  stderr: Writable,
): Promise<number> {
  const dashDash = argv.indexOf('--');
  const json = (dashDash === -1 ? argv : argv.slice(0, dashDash)).includes('--json');
  const out = createOutput(stdout, stderr, { json });
  const resolved = resolve(argv, out);
  if (typeof resolved === 'number') return resolved;

  if (resolved.command === 'run') {
    try {
      const parsed = parseCommand(runSpec, resolved.rest);
      if (parsed.help) {
        out.line(helpText(runSpec).trimEnd());
        return EXIT.ok;
      }
    } catch (err) {
      return report(err, out);
    }
    // Loaded only here: the admin commands never load Kafka.
    const { runService } = await import('../main.ts');
    return runService();
  }

  if (resolved.command === 'admin') {
    // The web admin is its own long-running process (src/admin/admin-main.ts).
    const { runAdmin } = await import('../admin/admin-main.ts');
    return runAdmin();
  }

  const command = resolved.command;
  const ctx = createCliContext(env, out);
  try {
    const parsed = parseCommand(command.spec, resolved.rest);
    if (parsed.help) {
      out.line(helpText(command.spec).trimEnd());
      return EXIT.ok;
    }
    return await command.run(ctx, parsed);
  } catch (err) {
    return report(err, out);
  } finally {
    await ctx.close();
  }
}

interface PgError {
  code: string;
  message: string;
  detail?: string;
  hint?: string;
  constraint?: string;
}

function isPgError(err: unknown): err is PgError {
  const code: unknown = err instanceof Error ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && 'severity' in (err as object);
}

const MISSING_SCHEMA_CODES = new Set(['42P01', '42883', '3F000']);

/** Prints an error the way a person can act on, and picks its exit code. */
function report(err: unknown, out: Output): number {
  const prefix = `${PROGRAM}:`;
  if (err instanceof UsageError) {
    out.error(`${prefix} ${err.message}`);
    if (err.usage) out.error(err.usage);
    if (err.helpCommand) out.error(`Run '${err.helpCommand}' for help.`);
    return EXIT.usage;
  }
  if (err instanceof ConfigError) {
    out.error(`${prefix} configuration error: ${err.message}`);
    return EXIT.usage;
  }
  if (err instanceof DatabaseUnreachableError) {
    out.error(`${prefix} ${err.message}`);
    return EXIT.unreachable;
  }
  if (err instanceof CommandFailedError) {
    out.error(`${prefix} ${err.message}`);
    if (err.hint) out.error(`hint: ${err.hint}`);
    return EXIT.failed;
  }
  if (err instanceof MigrationError) {
    out.error(`${prefix} ${err.message}`);
    const cause = err.cause;
    if (isPgError(cause) && cause.hint) out.error(`hint: ${cause.hint}`);
    return EXIT.failed;
  }
  if (isUnreachableError(err)) {
    out.error(`${prefix} lost the database connection: ${describeConnectError(err)}`);
    return EXIT.unreachable;
  }
  if (isPgError(err)) {
    // The validation trigger and the admin functions raise messages written for admins, with a hint.
    out.error(`${prefix} ${err.message}`);
    if (err.detail) out.error(`detail: ${err.detail}`);
    if (err.hint) out.error(`hint: ${err.hint}`);
    else if (err.code === '23505' && err.constraint === 'endpoints_name_unique')
      out.error('hint: endpoint names are unique; choose another name.');
    else if (MISSING_SCHEMA_CODES.has(err.code)) out.error(`hint: is the database migrated? Run: ${PROGRAM} migrate`);
    return EXIT.failed;
  }
  const code = errorCode(err);
  out.error(`${prefix} unexpected error${code ? ` (${code})` : ''}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  return EXIT.failed;
}

/** The process around `main`: argv, environment, streams and exit code. */
export async function runCli(): Promise<void> {
  const code = await main(process.argv.slice(2), process.env, process.stdout, process.stderr);
  process.exitCode = code;
  // Normally nothing is left and the process ends now. Should a socket linger (a connect to an
  // unanswering database host has no timeout of its own), don't hang a script: exit anyway.
  setTimeout(() => process.exit(code), 1000).unref();
}

if (import.meta.main) await runCli();
