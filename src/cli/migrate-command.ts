import { migrate, readMigrations, SERVICE_MIGRATIONS_DIR, type MigrationResult, type MigrationSet } from '../db/migrator.ts';
import type { Command } from './cli-context.ts';
import { EXIT } from './cli-errors.ts';

export const migrateCommand: Command = {
  spec: {
    name: 'migrate',
    summary: "Apply the service's migrations, then the admins' (ADMIN_MIGRATIONS_DIR).",
    options: {},
    description:
      "Applies pending files of migrations/ in order, each in its own transaction under an advisory lock,\nthen, if ADMIN_MIGRATIONS_DIR is set, the admins' own NNNN_name.sql files, recorded separately;\n:'NAME' in those files is replaced by environment variable NAME as a quoted literal. Prints each\nfile as applied or skipped. Reads DATABASE_URL. JSON: {service: [{version, name, status}],\nadmin: [...] or null}.",
    examples: [
      'DATABASE_URL=postgres://… dialer-webhooks migrate',
      'ADMIN_MIGRATIONS_DIR=./webhooks-sql CRM_SECRET=whsec_… dialer-webhooks migrate',
    ],
  },
  async run(ctx) {
    const config = ctx.config();
    // Files first: a bad folder is reported without waiting for the database.
    const serviceFiles = await readMigrations(SERVICE_MIGRATIONS_DIR);
    const adminDir = config.database.adminMigrationsDir;
    const adminFiles = adminDir === null ? null : await readMigrations(adminDir);
    const { pool } = await ctx.database();
    const print = (set: MigrationSet) => (r: MigrationResult) => {
      if (!ctx.out.json) ctx.out.line(`${set.padEnd(7)}  ${r.name}  ${r.status === 'applied' ? 'applied' : 'skipped (already applied)'}`);
    };
    const client = await pool.connect();
    try {
      const service = await migrate(client, serviceFiles, { set: 'service', onApplied: print('service') });
      const admin =
        adminFiles === null
          ? null
          : await migrate(client, adminFiles, {
              set: 'admin',
              variables: { ...config.database.adminVariables },
              onApplied: print('admin'),
            });
      if (ctx.out.json) {
        ctx.out.printJson({ service, admin });
      } else {
        const applied = [...service, ...(admin ?? [])].filter((r) => r.status === 'applied').length;
        ctx.out.line(applied === 0 ? 'Database is up to date.' : `Applied ${applied} migration${applied === 1 ? '' : 's'}.`);
      }
    } finally {
      client.release();
    }
    return EXIT.ok;
  },
};
