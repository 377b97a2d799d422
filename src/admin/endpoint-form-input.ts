import { parseHeaderLine, type HeaderChanges } from '../endpoints/endpoint-headers.ts';
import type { EndpointRecord, NewEndpoint } from '../endpoints/endpoint-store.ts';
import type { EndpointFormValues } from './views/endpoint-form.ts';

// The endpoint form as posted: its values, and the filter and header changes they ask for.

export type Form = Record<string, string | File | (string | File)[]>;
export type FieldErrors = Record<string, { message: string; hint: string | null }>;

export function text(form: Form, key: string): string {
  const v = form[key];
  return typeof v === 'string' ? v : '';
}

function texts(form: Form, key: string): string[] {
  const v = form[key];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === 'string');
}

export function formValues(form: Form): EndpointFormValues {
  return {
    name: text(form, 'name').trim(),
    url: text(form, 'url').trim(),
    allEvents: text(form, 'all_events') === 'true',
    eventTypes: texts(form, 'event_types'),
    enabled: text(form, 'enabled') === 'true',
    description: text(form, 'description').trim(),
    ordering: text(form, 'ordering') === 'per_key' ? 'per_key' : 'none',
    filter: text(form, 'filter').trim(),
    newHeaders: text(form, 'new_headers'),
    removeHeaders: texts(form, 'remove_header'),
    maxPerSecond: text(form, 'max_per_second').trim(),
    maxInFlight: text(form, 'max_in_flight').trim(),
  };
}

export function eventTypesOf(v: EndpointFormValues): string[] {
  return v.allEvents ? ['*'] : [...v.eventTypes];
}

/** What the filter and header fields change; `errors` for what cannot be sent to the database. */
/** The fields the form sets on both create and update (an empty description clears it). */
export function formFields(
  v: EndpointFormValues,
): Pick<NewEndpoint, 'name' | 'url' | 'eventTypes' | 'enabled' | 'description' | 'ordering'> {
  return {
    name: v.name,
    url: v.url,
    eventTypes: eventTypesOf(v),
    enabled: v.enabled,
    description: v.description === '' ? null : v.description,
    ordering: v.ordering,
  };
}

export interface RoutingInput {
  filter: unknown;
  headers: HeaderChanges;
  /** Empty fields clear a limit (null); the database checks the ranges. */
  limits: { maxPerSecond: number | null; maxInFlight: number | null };
  errors: FieldErrors;
}

/** A limit field: empty is none; anything but a number (a whole one, if `whole`) is the field's error. */
function limitValue(raw: string, field: string, whole: boolean, errors: FieldErrors): number | null {
  if (raw === '') return null;
  const n = Number(raw);
  if (!Number.isFinite(n) || (whole && !Number.isInteger(n))) {
    errors[field] = {
      message: `${raw} is not ${whole ? 'a whole number' : 'a number'}`,
      hint: whole ? 'e.g. 4; empty uses the service default' : 'e.g. 10 or 0.5; empty for no limit',
    };
    return null;
  }
  return n;
}

/**
 * The filter (JSON text; empty for none) and the headers: replaced values typed for stored
 * headers (`header_value:<name>`, blank keeps), removals, and new `Name: value` lines. The
 * database checks the rest (its message lands beside the field through the trigger's column).
 */
export function routingInput(form: Form, v: EndpointFormValues, endpoint: EndpointRecord | null): RoutingInput {
  const errors: FieldErrors = {};
  let filter: unknown = null;
  if (v.filter !== '' && v.filter !== 'null') {
    try {
      filter = JSON.parse(v.filter) as unknown;
    } catch (err) {
      errors.filter = {
        message: `The filter is not JSON: ${(err as Error).message}`,
        hint: 'e.g. {"data.campaign": {"$in": ["Q1-Sales"]}}',
      };
    }
  }
  const set: Record<string, string> = {};
  for (const name of Object.keys(endpoint?.headers ?? {})) {
    const typed = text(form, `header_value:${name}`).trim();
    if (typed !== '' && !v.removeHeaders.includes(name)) set[name] = typed;
  }
  for (const line of v.newHeaders.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    try {
      const [name, value] = parseHeaderLine(line);
      set[name] = value;
    } catch (err) {
      errors.headers = { message: (err as Error).message, hint: null };
    }
  }
  const limits = {
    maxPerSecond: limitValue(v.maxPerSecond, 'max_per_second', false, errors),
    maxInFlight: limitValue(v.maxInFlight, 'max_in_flight', true, errors),
  };
  return { filter, headers: { set, remove: v.removeHeaders }, limits, errors };
}
