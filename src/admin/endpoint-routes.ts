import { Hono, type Context } from 'hono';
import { sql } from 'kysely';
import { findEventType } from '../events/catalog-reads.ts';
import type { AdminEnv } from './admin-auth.ts';
import type { AdminDeps } from './admin-deps.ts';
import {
  createEndpoint,
  deleteEndpoint,
  EndpointChangedError,
  endpointValidationError,
  findEndpointById,
  rotateEndpointSecret,
  setEndpointEnabled,
  updateEndpoint,
  type EndpointRecord,
} from '../endpoints/endpoint-store.ts';
import { countRecoverable, recover } from '../log/delivery-queries.ts';
import { endpointPageView, loadEventTypes, notFound, noticeFrom, pgProblem } from './page-helpers.ts';
import { formFields, formValues, routingInput, text } from './endpoint-form-input.ts';
import { deleteConfirmPage, EMPTY_FORM, endpointFormPage, valuesOf, type EndpointFormValues } from './views/endpoint-form.ts';
import { recoverConfirmPage } from './views/delivery-page.ts';
import { OVERLAPS, RECOVER_WINDOWS } from './views/endpoint-page.ts';

async function requireHttps(deps: AdminDeps): Promise<boolean> {
  const { rows } = await sql<{ value: string }>`select value from webhooks.settings where key = 'require_https'`.execute(deps.db);
  return rows[0]?.value === 'true';
}

/** Only our own pages are redirect targets (no open redirect through a hidden field). */
function localPath(path: string, fallback: string): string {
  return /^\/webhooks(\/[0-9a-f-]{36})?$/.test(path) ? path : fallback;
}

export function endpointRoutes(deps: AdminDeps): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();
  const now = deps.now ?? Date.now;

  async function formPage(
    c: Context<AdminEnv>,
    status: 200 | 409 | 422,
    endpoint: EndpointRecord | null,
    values: EndpointFormValues,
    errors: Record<string, { message: string; hint: string | null }> = {},
    conflict: EndpointRecord | null = null,
  ): Promise<Response> {
    const [eventTypes, https] = await Promise.all([loadEventTypes(deps), requireHttps(deps)]);
    return c.html(
      endpointFormPage({ identity: c.get('identity'), eventTypes, requireHttps: https, endpoint, values, errors, conflict }),
      status,
    );
  }

  /** Validation the database cannot place on a field for the form; everything else is the trigger's. */
  function localErrors(v: EndpointFormValues): Record<string, { message: string; hint: string | null }> {
    if (!v.allEvents && v.eventTypes.length === 0) {
      return { event_types: { message: 'Select at least one event, or All events.', hint: null } };
    }
    return {};
  }

  function rejection(err: unknown): Record<string, { message: string; hint: string | null }> | null {
    const v = endpointValidationError(err);
    if (v === null) return null;
    // The trigger's messages start with the table name, which says nothing to a person at a form.
    return { [v.field ?? 'form']: { message: v.message.replace(/^webhooks\.endpoints: /, ''), hint: v.hint } };
  }

  app.get('/new', (c) => formPage(c, 200, null, EMPTY_FORM));

  app.post('/', async (c) => {
    const form = await c.req.parseBody({ all: true });
    const v = formValues(form);
    const routing = routingInput(form, v, null);
    const local = { ...localErrors(v), ...routing.errors };
    if (Object.keys(local).length > 0) return formPage(c, 422, null, v, local);
    try {
      const created = await createEndpoint(deps.db, {
        ...formFields(v),
        filter: routing.filter,
        headers: routing.headers.set ?? {},
        ...routing.limits,
      });
      deps.logger.info({ endpointId: created.id, user: c.get('identity').user }, 'endpoint created in the web admin');
      return c.redirect(`/webhooks/${created.id}?notice=created`, 303);
    } catch (err) {
      const errors = rejection(err);
      if (errors === null) throw err;
      return formPage(c, 422, null, v, errors);
    }
  });

  app.get('/:id', async (c) => {
    const endpoint = await findEndpointById(deps.db, c.req.param('id'));
    if (endpoint === null) return notFound(c);
    const q = c.req.query();
    return c.html(await endpointPageView(deps, c.get('identity'), endpoint, q, { flash: noticeFrom(q) }));
  });

  app.get('/:id/edit', async (c) => {
    const endpoint = await findEndpointById(deps.db, c.req.param('id'));
    if (endpoint === null) return notFound(c);
    return formPage(c, 200, endpoint, valuesOf(endpoint));
  });

  app.post('/:id', async (c) => {
    const endpoint = await findEndpointById(deps.db, c.req.param('id'));
    if (endpoint === null) return notFound(c);
    const form = await c.req.parseBody({ all: true });
    const v = formValues(form);
    const routing = routingInput(form, v, endpoint);
    const local = { ...localErrors(v), ...routing.errors };
    if (Object.keys(local).length > 0) return formPage(c, 422, endpoint, v, local);
    const expected = new Date(text(form, 'updated_at'));
    try {
      const updated = await updateEndpoint(
        deps.db,
        endpoint.id,
        {
          ...formFields(v),
          filter: routing.filter,
          headers: routing.headers,
          ...routing.limits,
        },
        Number.isNaN(expected.getTime()) ? {} : { expectedUpdatedAt: expected },
      );
      if (updated === null) return notFound(c);
      deps.logger.info({ endpointId: endpoint.id, user: c.get('identity').user }, 'endpoint updated in the web admin');
      return c.redirect(`/webhooks/${endpoint.id}?notice=saved`, 303);
    } catch (err) {
      if (err instanceof EndpointChangedError) return formPage(c, 409, err.current, v, {}, err.current);
      const errors = rejection(err);
      if (errors === null) throw err;
      return formPage(c, 422, endpoint, v, errors);
    }
  });

  app.post('/:id/enabled', async (c) => {
    const form = await c.req.parseBody();
    const enabled = text(form, 'enabled') === 'true';
    const result = await setEndpointEnabled(
      deps.db,
      c.req.param('id'),
      enabled,
      enabled ? null : `disabled in the web admin by ${c.get('identity').user}`,
    );
    if (result === null) return notFound(c);
    if (result.changed) {
      deps.logger.info(
        { endpointId: result.endpoint.id, enabled, user: c.get('identity').user },
        'endpoint enabled changed in the web admin',
      );
    }
    return c.redirect(localPath(text(form, 'return_to'), '/webhooks'), 303);
  });

  app.get('/:id/delete', async (c) => {
    const endpoint = await findEndpointById(deps.db, c.req.param('id'));
    if (endpoint === null) return notFound(c);
    return c.html(deleteConfirmPage(c.get('identity'), endpoint));
  });

  app.post('/:id/delete', async (c) => {
    const id = c.req.param('id');
    if (!(await deleteEndpoint(deps.db, id))) return notFound(c);
    deps.logger.info({ endpointId: id, user: c.get('identity').user }, 'endpoint deleted in the web admin');
    return c.redirect('/webhooks?notice=deleted', 303);
  });

  app.post('/:id/reveal-secret', async (c) => {
    const endpoint = await findEndpointById(deps.db, c.req.param('id'));
    if (endpoint === null) return notFound(c);
    // Who saw a secret, and when, is an audit fact; the secret itself never reaches the log.
    deps.logger.warn({ endpointId: endpoint.id, user: c.get('identity').user }, 'endpoint secret revealed in the web admin');
    return c.html(await endpointPageView(deps, c.get('identity'), endpoint, {}, { revealedSecret: true }));
  });

  app.post('/:id/rotate-secret', async (c) => {
    const endpoint = await findEndpointById(deps.db, c.req.param('id'));
    if (endpoint === null) return notFound(c);
    const overlap = Number(text(await c.req.parseBody(), 'overlap_seconds'));
    if (!OVERLAPS.some(([s]) => s === overlap)) return c.text('overlap_seconds must be one of the offered choices\n', 400);
    await rotateEndpointSecret(deps.db, endpoint.id, overlap);
    deps.logger.info(
      { endpointId: endpoint.id, overlapSeconds: overlap, user: c.get('identity').user },
      'endpoint secret rotated in the web admin',
    );
    return c.redirect(`/webhooks/${endpoint.id}?notice=rotated`, 303);
  });

  app.post('/:id/test', async (c) => {
    const endpoint = await findEndpointById(deps.db, c.req.param('id'));
    if (endpoint === null) return notFound(c);
    const eventType = text(await c.req.parseBody(), 'event_type');
    if ((await findEventType(deps.db, eventType)) === null) return c.text('unknown event type\n', 400);
    const testResult = await deps.sendTestEvent(endpoint, eventType, c.req.raw.signal);
    deps.logger.info(
      { endpointId: endpoint.id, eventType, statusCode: testResult.statusCode, user: c.get('identity').user },
      'test event sent from the web admin',
    );
    return c.html(await endpointPageView(deps, c.get('identity'), endpoint, {}, { testResult }));
  });

  app.get('/:id/recover', async (c) => {
    const endpoint = await findEndpointById(deps.db, c.req.param('id'));
    if (endpoint === null) return notFound(c);
    const window = RECOVER_WINDOWS.find(([key]) => key === c.req.query('since')) ?? RECOVER_WINDOWS[2]!;
    const since = window[2] === null ? new Date(0) : new Date(now() - window[2]);
    const count = await countRecoverable(deps.db, endpoint.id, since);
    return c.html(recoverConfirmPage(c.get('identity'), endpoint, { key: window[0], label: window[1], since }, count));
  });

  app.post('/:id/recover', async (c) => {
    const endpoint = await findEndpointById(deps.db, c.req.param('id'));
    if (endpoint === null) return notFound(c);
    const since = new Date(text(await c.req.parseBody(), 'since_at'));
    if (Number.isNaN(since.getTime())) return c.text('since_at must be a time\n', 400);
    try {
      const requested = await recover(deps.db, endpoint.id, since);
      deps.logger.info({ endpointId: endpoint.id, since, requested, user: c.get('identity').user }, 'recover requested in the web admin');
      return c.redirect(`/webhooks/${endpoint.id}?notice=recovered&count=${requested}`, 303);
    } catch (err) {
      const problem = pgProblem(err);
      if (problem === null) throw err;
      return c.html(await endpointPageView(deps, c.get('identity'), endpoint, {}, { flash: { kind: 'error', text: problem } }), 409);
    }
  });

  return app;
}
