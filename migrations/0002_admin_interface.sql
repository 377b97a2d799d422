-- dialer-webhooks: the admin interface. Views for people reading the delivery log, and functions
-- for the jobs plain SQL gets wrong: redelivery and secret rotation. docs/admin.md has the recipes.
-- Forward-only: never edit this file once landed.

-- Open deliveries of one endpoint (endpoint_health counts them, recover() selects them) without
-- reading every endpoint's rows.
create index deliveries_endpoint_open on webhooks.deliveries (endpoint_id, status)
  where status in ('pending', 'retrying', 'dead', 'cancelled');

-- One row per HTTP attempt (and per cancellation), newest data joined in: the endpoint's current
-- name and the delivery's current status. Filter on attempted_at to read only recent partitions.
create view webhooks.delivery_log as
select a.started_at                 as attempted_at,
       e.name                       as endpoint_name,
       a.endpoint_id,
       d.event_type,
       d.event_id,
       a.delivery_id,
       a.series,
       a.attempt,
       a.outcome,
       a.status_code,
       a.error_kind,
       a.error,
       a.duration_ms,
       a.delay_ms,
       a.due_at,
       a.url,
       left(a.response_body, 300)   as response_excerpt,
       d.status                     as delivery_status,
       d.status_reason              as delivery_status_reason
  from webhooks.attempts a
  left join webhooks.deliveries d on d.id = a.delivery_id
  left join webhooks.endpoints e on e.id = a.endpoint_id;

comment on view webhooks.delivery_log is
  'One row per delivery attempt: endpoint, event, series and attempt number, outcome, HTTP status or error, '
  'duration, the delay before it, a response excerpt and the delivery''s current status. '
  'Filter on attempted_at (e.g. > now() - interval ''1 hour'') so only recent partitions are read.';

-- Per endpoint, enabled or not. Attempt counts leave out cancellations (no request was made).
-- The ratios are null when there was no attempt in the window.
create view webhooks.endpoint_health as
select e.id                                        as endpoint_id,
       e.name,
       e.url,
       e.enabled,
       e.disabled_reason,
       e.event_types,
       s.last_success_at,
       f.last_failure_at,
       f.last_failure_status_code,
       f.last_failure_error,
       w.attempts_1h,
       round(w.succeeded_1h::numeric / nullif(w.attempts_1h, 0), 3)   as success_ratio_1h,
       w.attempts_24h,
       round(w.succeeded_24h::numeric / nullif(w.attempts_24h, 0), 3) as success_ratio_24h,
       o.deliveries_dead,
       o.deliveries_retrying
  from webhooks.endpoints e
  left join lateral (
    select a.started_at as last_success_at
      from webhooks.attempts a
     where a.endpoint_id = e.id and a.outcome = 'succeeded'
     order by a.started_at desc
     limit 1
  ) s on true
  left join lateral (
    select a.started_at as last_failure_at, a.status_code as last_failure_status_code, a.error as last_failure_error
      from webhooks.attempts a
     where a.endpoint_id = e.id and a.outcome = 'failed'
     order by a.started_at desc
     limit 1
  ) f on true
  cross join lateral (
    select (count(*) filter (where a.started_at >= now() - interval '1 hour'))::integer                            as attempts_1h,
           (count(*) filter (where a.started_at >= now() - interval '1 hour' and a.outcome = 'succeeded'))::integer as succeeded_1h,
           count(*)::integer                                                                                       as attempts_24h,
           (count(*) filter (where a.outcome = 'succeeded'))::integer                                               as succeeded_24h
      from webhooks.attempts a
     where a.endpoint_id = e.id and a.started_at >= now() - interval '24 hours' and a.outcome <> 'cancelled'
  ) w
  cross join lateral (
    select (count(*) filter (where d.status = 'dead'))::integer                      as deliveries_dead,
           (count(*) filter (where d.status in ('pending', 'retrying')))::integer    as deliveries_retrying
      from webhooks.deliveries d
     where d.endpoint_id = e.id and d.status in ('pending', 'retrying', 'dead')
  ) o;

comment on view webhooks.endpoint_health is
  'Per endpoint: last success, last failure and its error, attempts and success ratio over the last hour and '
  'the last 24 hours, deliveries dead (redeliverable) and deliveries waiting for a retry or a redelivery.';

-- Starts a new series of attempts for one delivery, under the same delivery id (the receiver's
-- webhook-id). The row becomes 'pending' and the dispatchers' redelivery watcher, woken by the
-- NOTIFY (or its periodic sweep), hands it to the first retry topic; from there the normal retry
-- path sends it with a fresh endpoint lookup and fresh signatures. A message of the old series
-- still on a delay topic is dropped by the dispatcher as superseded.
--
-- Allowed: dead, cancelled, and retrying deliveries whose current series has failed at least once
-- ("send it now"). Already waiting for a first attempt (pending, or retrying with no attempt in the
-- series): nothing to do, returns the id. Succeeded: only with force => true.
create function webhooks.redeliver(delivery_id uuid, force boolean default false) returns uuid
language plpgsql
set search_path = pg_catalog, webhooks
as $$
declare
  d  webhooks.deliveries%rowtype;
  ep webhooks.endpoints%rowtype;
begin
  if redeliver.delivery_id is null then
    raise exception 'webhooks.redeliver: delivery_id must not be null'
      using errcode = 'null_value_not_allowed';
  end if;
  select * into d from webhooks.deliveries where id = redeliver.delivery_id for update;
  if not found then
    raise exception 'webhooks.redeliver: no delivery with id %', redeliver.delivery_id
      using errcode = 'no_data_found',
            hint = 'Delivery ids are in webhooks.delivery_log (delivery_id) and webhooks.deliveries (id), '
                   'e.g. select delivery_id, attempted_at, error from webhooks.delivery_log where endpoint_name = ''crm-sync'' order by attempted_at desc limit 20';
  end if;

  if d.status = 'succeeded' and not coalesce(redeliver.force, false) then
    raise exception 'webhooks.redeliver: delivery % already succeeded (attempt % of series %)', d.id, d.attempts, d.series
      using errcode = 'object_not_in_prerequisite_state',
            hint = 'To send it again anyway, call webhooks.redeliver(''' || d.id || ''', force => true).';
  end if;
  if (d.status = 'pending' or (d.status = 'retrying' and d.attempts = 0)) and not coalesce(redeliver.force, false) then
    raise notice 'webhooks.redeliver: delivery % is already waiting for its next attempt (status %, %)', d.id, d.status, coalesce(d.status_reason, 'no reason');
    return d.id;
  end if;
  if d.payload is null then
    raise exception 'webhooks.redeliver: delivery % has no stored body to send again', d.id
      using errcode = 'object_not_in_prerequisite_state',
            hint = 'Only deliveries that failed at least once keep their body (webhooks.deliveries.payload). '
                   'Send the event again from its source instead.';
  end if;

  select * into ep from webhooks.endpoints where id = d.endpoint_id;
  if not found then
    raise exception 'webhooks.redeliver: the endpoint % of delivery % no longer exists', d.endpoint_id, d.id
      using errcode = 'object_not_in_prerequisite_state',
            hint = 'A deleted endpoint cannot receive. Create it again only if its receiver still exists.';
  end if;
  if not ep.enabled then
    raise exception 'webhooks.redeliver: endpoint "%" is disabled (%), so delivery % would be cancelled at once', ep.name, coalesce(ep.disabled_reason, 'no reason given'), d.id
      using errcode = 'object_not_in_prerequisite_state',
            hint = 'Enable it first: update webhooks.endpoints set enabled = true where name = ''' || ep.name || ''';';
  end if;

  update webhooks.deliveries
     set status = 'pending',
         status_reason = 'redelivery requested',
         series = series + 1,
         attempts = 0,
         -- First and last attempt times describe the current series; the old series stays in
         -- webhooks.attempts (and the delivery_log view).
         first_attempt_at = null,
         next_attempt_at = now(),
         updated_at = now()
   where id = d.id;
  perform pg_notify('webhooks_redeliveries', d.id::text);
  return d.id;
end
$$;

comment on function webhooks.redeliver(uuid, boolean) is
  'Requests a fresh delivery (a new attempt series, the same delivery id) of a dead, cancelled or failing delivery; '
  'a succeeded one only with force => true. Returns the delivery id.';

-- redeliver() for every dead, cancelled or failing delivery of one endpoint whose last attempt
-- (or creation, when it made none) is at or after `since`. Deliveries without a stored body are
-- skipped with a NOTICE. Returns how many were requested.
create function webhooks.recover(endpoint_id uuid, since timestamptz) returns integer
language plpgsql
set search_path = pg_catalog, webhooks
as $$
declare
  ep        webhooks.endpoints%rowtype;
  requested integer;
  no_body   integer;
begin
  if recover.since is null then
    raise exception 'webhooks.recover: since must not be null'
      using errcode = 'null_value_not_allowed', hint = 'Pass a time, e.g. now() - interval ''6 hours'', or ''-infinity'' for every failed delivery.';
  end if;
  select * into ep from webhooks.endpoints e where e.id = recover.endpoint_id;
  if not found then
    raise exception 'webhooks.recover: no endpoint with id %', recover.endpoint_id
      using errcode = 'no_data_found',
            hint = 'Endpoint ids: select id, name from webhooks.endpoints order by name; or pass (select id from webhooks.endpoints where name = ''crm-sync'').';
  end if;
  if not ep.enabled then
    raise exception 'webhooks.recover: endpoint "%" is disabled (%), so its deliveries would be cancelled at once', ep.name, coalesce(ep.disabled_reason, 'no reason given')
      using errcode = 'object_not_in_prerequisite_state',
            hint = 'Enable it first: update webhooks.endpoints set enabled = true where name = ''' || ep.name || ''';';
  end if;

  with failed as (
    select d.id, d.payload is not null as has_body
      from webhooks.deliveries d
     where d.endpoint_id = ep.id
       and (d.status in ('dead', 'cancelled') or (d.status = 'retrying' and d.attempts > 0))
       and coalesce(d.last_attempt_at, d.created_at) >= recover.since
       for update
  ), requested_rows as (
    update webhooks.deliveries d
       set status = 'pending',
           status_reason = 'redelivery requested',
           series = d.series + 1,
           attempts = 0,
           first_attempt_at = null,
           next_attempt_at = now(),
           updated_at = now()
      from failed
     where d.id = failed.id and failed.has_body
    returning 1
  )
  select (select count(*) from requested_rows), (select count(*) from failed where not has_body)
    into requested, no_body;

  if no_body > 0 then
    raise notice 'webhooks.recover: % failed deliveries of "%" have no stored body and were skipped', no_body, ep.name;
  end if;
  if requested > 0 then
    perform pg_notify('webhooks_redeliveries', ep.id::text);
  end if;
  return requested;
end
$$;

comment on function webhooks.recover(uuid, timestamptz) is
  'Requests a fresh delivery of every dead, cancelled or failing delivery of an endpoint whose last attempt is at or '
  'after since. Returns how many were requested.';

-- Replaces an endpoint's secret with a generated one and keeps the old one valid for `overlap`:
-- until then every request carries a Standard Webhooks signature for both secrets, and
-- X-Webhook-Signature uses the new one. A rotation during an overlap ends the older overlap (only
-- two secrets are ever valid). The validation trigger's NOTIFY makes dispatchers reload at once.
create function webhooks.rotate_secret(endpoint_id uuid, overlap interval default '24 hours') returns text
language plpgsql
set search_path = pg_catalog, webhooks
as $$
declare
  new_secret text;
begin
  if rotate_secret.overlap is null or rotate_secret.overlap < interval '0' then
    raise exception 'webhooks.rotate_secret: overlap must be zero or positive, got %', coalesce(rotate_secret.overlap::text, 'null')
      using errcode = 'invalid_parameter_value', hint = 'E.g. interval ''24 hours''; interval ''0'' drops the old secret at once.';
  end if;
  update webhooks.endpoints e
     set previous_secret = e.secret,
         previous_secret_expires_at = now() + rotate_secret.overlap,
         secret = webhooks.generate_secret()
   where e.id = rotate_secret.endpoint_id
  returning e.secret into new_secret;
  if not found then
    raise exception 'webhooks.rotate_secret: no endpoint with id %', rotate_secret.endpoint_id
      using errcode = 'no_data_found',
            hint = 'Endpoint ids: select id, name from webhooks.endpoints order by name; or pass (select id from webhooks.endpoints where name = ''crm-sync'').';
  end if;
  return new_secret;
end
$$;

comment on function webhooks.rotate_secret(uuid, interval) is
  'Sets a new generated secret, keeps the old one valid for overlap (default 24 hours), returns the new secret.';
