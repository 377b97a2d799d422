import type { Db } from '../db/database.ts';
import type { EventTypeDefinition } from './catalog.ts';

/** Every row of webhooks.event_types, by name. */
export async function findEventTypes(db: Db): Promise<EventTypeDefinition[]> {
  const rows = await db
    .selectFrom('webhooks.event_types')
    .select(['name', 'description', 'data_schema', 'sample_data', 'version'])
    .orderBy('name')
    .execute();
  return rows.map((r) => ({
    name: r.name,
    description: r.description,
    dataSchema: r.data_schema ?? null,
    sampleData: (r.sample_data ?? {}) as Record<string, unknown>,
    version: r.version,
  }));
}

/** One row of webhooks.event_types, or null. */
export async function findEventType(db: Db, name: string): Promise<EventTypeDefinition | null> {
  return (await findEventTypes(db)).find((t) => t.name === name) ?? null;
}
