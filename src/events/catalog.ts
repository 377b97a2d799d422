import { z } from 'zod';

/**
 * The event catalog: the nine event types of the product spec and the `data` fields each must
 * carry. Only what the spec's examples show is checked; any other field passes through untouched
 * so producers can add fields without breaking anyone. Keep in step with `webhooks.event_types`
 * (migration 0001), which the endpoint validation trigger reads.
 */
const id = z.union([z.string().min(1), z.number().int()]);
const optionalText = z.string().optional();

const callData = z.looseObject({
  call_id: id,
  agent: optionalText,
  phone_number: z.union([z.string(), z.number()]).optional(),
  campaign: optionalText,
});

const agentData = z.looseObject({
  agent: z.string().min(1),
  state: optionalText,
});

export const EVENT_SCHEMAS = {
  'call.started': callData,
  'call.ended': z.looseObject({
    ...callData.shape,
    duration: z.number().nonnegative().optional(),
    disposition: optionalText,
  }),
  'agent.login': agentData,
  'agent.logout': agentData,
  'agent.pause': z.looseObject({ ...agentData.shape, reason: optionalText }),
  'agent.resume': agentData,
  'lead.updated': z.looseObject({
    lead_id: id,
    changes: z.record(z.string(), z.unknown()).optional(),
  }),
  'recording.ready': z.looseObject({
    recording_id: id,
    call_id: id.optional(),
    url: z.string().min(1),
  }),
  'alert.triggered': z.looseObject({
    alert: z.string().min(1),
    threshold: z.union([z.number(), z.string()]).optional(),
    value: z.union([z.number(), z.string()]).optional(),
  }),
} as const;

export type EventType = keyof typeof EVENT_SCHEMAS;

/** The nine event types, in catalog order. */
export const EVENT_TYPES: readonly EventType[] = Object.freeze(Object.keys(EVENT_SCHEMAS) as EventType[]);

export function isEventType(value: string): value is EventType {
  return Object.hasOwn(EVENT_SCHEMAS, value);
}
