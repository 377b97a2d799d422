import { Hono } from 'hono';
import { redeliver } from '../log/delivery-queries.ts';
import type { AdminEnv } from './admin-auth.ts';
import type { AdminDeps } from './admin-deps.ts';
import { isUuid } from '../util/uuid.ts';
import { findDeliveryDetail, listAttempts } from '../log/delivery-queries.ts';
import { noticeFrom, notFound, pgProblem } from './page-helpers.ts';
import { deliveryPage } from './views/delivery-page.ts';

export function deliveryRoutes(deps: AdminDeps): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();

  app.get('/:id', async (c) => {
    const id = c.req.param('id');
    if (!isUuid(id)) return notFound(c);
    const [delivery, attempts] = await Promise.all([findDeliveryDetail(deps.db, id), listAttempts(deps.db, id)]);
    if (delivery === null) return notFound(c);
    return c.html(deliveryPage(c.get('identity'), delivery, attempts, noticeFrom(c.req.query())));
  });

  app.post('/:id/redeliver', async (c) => {
    const id = c.req.param('id');
    if (!isUuid(id)) return notFound(c);
    const force = (await c.req.parseBody()).force === 'true';
    try {
      await redeliver(deps.db, id, force);
    } catch (err) {
      const problem = pgProblem(err);
      if (problem === null) throw err;
      const [delivery, attempts] = await Promise.all([findDeliveryDetail(deps.db, id), listAttempts(deps.db, id)]);
      if (delivery === null) return notFound(c);
      return c.html(deliveryPage(c.get('identity'), delivery, attempts, { kind: 'error', text: problem }), 409);
    }
    deps.logger.info({ deliveryId: id, force, user: c.get('identity').user }, 'redelivery requested in the web admin');
    return c.redirect(`/deliveries/${id}?notice=redelivered`, 303);
  });

  return app;
}
