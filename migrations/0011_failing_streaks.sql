-- dialer-webhooks: failing streaks, auto-disable and the service's own alert.triggered events.
--  * webhooks.failing_streaks: per endpoint, when the current failing streak began (the first
--    failed attempt after the last success, or since the endpoint was enabled), its last error
--    and how many attempts failed in it. Kept by a statement-level trigger on webhooks.attempts,
--    so each delivery-log flush costs one grouped upsert, whatever statement wrote the attempts;
--    endpoints with no streak that only succeed are read, never written.
--  * webhooks.alerts: the alert.triggered events the service decided to send (an outbox): a row is
--    inserted in the statement that disables the endpoint (or marks the failing alert sent), then
--    produced to Kafka. A row not produced (a crash, the broker down) is produced by a later sweep
--    under the same event id, so the alert is neither lost nor sent twice to a receiver.
--  * Enabling an endpoint again (admin UI, CLI or plain SQL) ends its streak: a new one starts.
-- Forward-only: never edit this file once landed.

create table webhooks.failing_streaks (
  endpoint_id      uuid primary key references webhooks.endpoints (id) on delete cascade,
  -- Start of the current streak; null while the endpoint is not failing.
  failing_since    timestamptz,
  last_failure_at  timestamptz,
  last_error       text,
  failed_attempts  bigint not null default 0,
  -- The newest success this table saw (written only when a success ends a streak).
  last_success_at  timestamptz,
  -- When the webhook_endpoint_failing alert of this streak was queued: once per streak.
  failing_alert_at timestamptz,
  updated_at       timestamptz not null default now()
);

comment on table webhooks.failing_streaks is
  'Per endpoint: the current failing streak (failing_since is the first failed attempt after the last success), '
  'its last error and failed attempts, and when its webhook_endpoint_failing alert was sent. Kept by a trigger '
  'on webhooks.attempts; enabling an endpoint again deletes its row.';

-- Streak candidates for the service's sweep, oldest first.
create index failing_streaks_since on webhooks.failing_streaks (failing_since) where failing_since is not null;

create table webhooks.alerts (
  -- The event-id header of the produced event.
  id          uuid primary key default gen_random_uuid(),
  alert       text not null check (alert in ('webhook_endpoint_failing', 'webhook_endpoint_disabled')),
  endpoint_id uuid not null,
  -- The whole event as produced: {"event": "alert.triggered", "timestamp": …, "data": {…}}.
  event       jsonb not null,
  created_at  timestamptz not null default now(),
  -- Last time a dispatcher started producing it; a row not produced a while after is taken over.
  claimed_at  timestamptz not null default now(),
  produced_at timestamptz
);

comment on table webhooks.alerts is
  'alert.triggered events this service produced (or is about to) to ALERTS_TOPIC: webhook_endpoint_failing '
  'and webhook_endpoint_disabled, with the whole event; produced_at is null until the broker acknowledged it.';

create index alerts_unproduced on webhooks.alerts (claimed_at) where produced_at is null;
create index alerts_endpoint on webhooks.alerts (endpoint_id, created_at desc);

-- One flush of the delivery log: per endpoint, the attempts of this statement folded into its
-- streak. Within the statement, failures after its newest success (and after the newest success
-- already recorded) start or extend the streak; a success newer than the streak's start ends it.
-- Rows are upserted in endpoint order, so two dispatchers flushing at once cannot deadlock.
-- Security definer: the delivery log's flush must never fail for want of a grant on this table
-- (a refused flush is retried, and would hold every commit behind it).
create function webhooks.track_failing_streaks() returns trigger
language plpgsql
security definer
set search_path = pg_catalog
as $$
begin
  insert into webhooks.failing_streaks as s
    (endpoint_id, failing_since, last_failure_at, last_error, failed_attempts, last_success_at, updated_at)
  select b.endpoint_id, b.failing_since, b.last_failure_at, b.last_error, b.failed_attempts, b.last_success_at, now()
    from (
      select x.endpoint_id,
             max(x.ok_at)                                              as last_success_at,
             min(x.started_at) filter (where x.counts)                 as failing_since,
             max(x.started_at) filter (where x.counts)                 as last_failure_at,
             count(*) filter (where x.counts)                          as failed_attempts,
             (array_agg(x.error order by x.started_at desc) filter (where x.counts))[1] as last_error,
             bool_or(x.streak_open)                                    as streak_open
        from (
          select a.endpoint_id, a.started_at, ok.ok_at,
                 a.outcome = 'failed' and a.started_at > coalesce(greatest(ok.ok_at, k.last_success_at), '-infinity') as counts,
                 k.failing_since is not null as streak_open,
                 left(coalesce(a.error, 'HTTP ' || a.status_code, a.error_kind, 'failed'), 500) as error
            from new_attempts a
            join (
              select endpoint_id, max(started_at) filter (where outcome = 'succeeded') as ok_at
                from new_attempts
               where outcome in ('succeeded', 'failed')
               group by endpoint_id
            ) ok on ok.endpoint_id = a.endpoint_id
            left join webhooks.failing_streaks k on k.endpoint_id = a.endpoint_id
           where a.outcome in ('succeeded', 'failed')
        ) x
       group by x.endpoint_id
    ) b
   where b.failing_since is not null or (b.streak_open and b.last_success_at is not null)
   order by b.endpoint_id
  on conflict (endpoint_id) do update set
    failing_since    = case when excluded.last_success_at >= s.failing_since then excluded.failing_since
                            else least(s.failing_since, excluded.failing_since) end,
    failed_attempts  = case when excluded.last_success_at >= s.failing_since then excluded.failed_attempts
                            else s.failed_attempts + excluded.failed_attempts end,
    last_error       = case when excluded.last_success_at >= s.failing_since then excluded.last_error
                            when excluded.last_failure_at >= coalesce(s.last_failure_at, '-infinity') then excluded.last_error
                            else s.last_error end,
    last_failure_at  = case when excluded.last_success_at >= s.failing_since then excluded.last_failure_at
                            else greatest(s.last_failure_at, excluded.last_failure_at) end,
    failing_alert_at = case when excluded.last_success_at >= s.failing_since then null else s.failing_alert_at end,
    last_success_at  = greatest(s.last_success_at, excluded.last_success_at),
    updated_at       = now();
  return null;
end
$$;

create trigger attempts_track_failing_streaks
  after insert on webhooks.attempts
  referencing new table as new_attempts
  for each statement execute function webhooks.track_failing_streaks();

-- Enabled again, by anyone and any path: the old streak (and its alerts' once-per-streak mark)
-- is forgotten. Security definer, so an admin who may update endpoints needs no rights here.
create function webhooks.reset_failing_streak() returns trigger
language plpgsql
security definer
set search_path = pg_catalog
as $$
begin
  delete from webhooks.failing_streaks where endpoint_id = new.id;
  return null;
end
$$;

create trigger endpoints_reset_failing_streak
  after update of enabled on webhooks.endpoints
  for each row when (new.enabled and not old.enabled)
  execute function webhooks.reset_failing_streak();

-- endpoint_health gains the streak (appended columns; the rest as in 0002).
create or replace view webhooks.endpoint_health as
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
       o.deliveries_retrying,
       k.failing_since,
       coalesce(k.failed_attempts, 0)              as failing_attempts
  from webhooks.endpoints e
  left join webhooks.failing_streaks k on k.endpoint_id = e.id and k.failing_since is not null
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
  'the last 24 hours, deliveries dead (redeliverable) and deliveries waiting for a retry or a redelivery, and the '
  'current failing streak (failing_since is null when the endpoint is not failing).';

-- As in 0004, plus the streaks and alerts (the service keeps both, people read them), plus what
-- 0012 (per-key ordering) grants when it is applied already: a database that had 0012 before
-- this file gets this version last, and must keep 0012's grants.
create or replace function webhooks.grant_roles() returns text[]
language plpgsql
set search_path = pg_catalog, webhooks
as $$
declare
  role_name text;
  missing   text[] := '{}';
  can_create boolean := (select r.rolsuper or r.rolcreaterole from pg_roles r where r.rolname = current_user);
  per_key   boolean := to_regclass('webhooks.ordered_deliveries') is not null;
begin
  foreach role_name in array array['webhooks_admin', 'webhooks_reader', 'webhooks_service'] loop
    if not exists (select 1 from pg_roles where rolname = role_name) then
      if can_create then
        begin
          execute format('create role %I nologin', role_name);
        exception when duplicate_object or unique_violation then
          null; -- made meanwhile by a migration of another database
        end;
      else
        missing := missing || role_name;
      end if;
    end if;
  end loop;

  if not ('webhooks_reader' = any(missing)) then
    grant usage on schema webhooks to webhooks_reader;
    grant select on webhooks.delivery_log, webhooks.endpoint_health, webhooks.event_types, webhooks.settings,
                    webhooks.deliveries, webhooks.attempts, webhooks.failing_streaks, webhooks.alerts to webhooks_reader;
    -- Every endpoint column but the secrets.
    grant select (id, name, url, event_types, enabled, disabled_reason, description, created_at, updated_at,
                  previous_secret_expires_at) on webhooks.endpoints to webhooks_reader;
    if per_key then
      grant select on webhooks.ordered_deliveries to webhooks_reader;
      grant select (ordering) on webhooks.endpoints to webhooks_reader;
    end if;
  end if;
  if not ('webhooks_admin' = any(missing)) then
    grant usage on schema webhooks to webhooks_admin;
    grant select on webhooks.delivery_log, webhooks.endpoint_health, webhooks.event_types, webhooks.settings,
                    webhooks.deliveries, webhooks.attempts, webhooks.failing_streaks, webhooks.alerts to webhooks_admin;
    grant select, insert, update, delete on webhooks.endpoints to webhooks_admin;
    -- redeliver() and recover() run with the caller's rights.
    grant update on webhooks.deliveries to webhooks_admin;
    grant execute on function webhooks.expire_previous_secrets() to webhooks_admin;
    if per_key then
      grant select on webhooks.ordered_deliveries to webhooks_admin;
    end if;
  end if;
  if not ('webhooks_service' = any(missing)) then
    grant usage on schema webhooks to webhooks_service;
    grant select on webhooks.endpoints, webhooks.event_types, webhooks.schema_migrations to webhooks_service;
    grant update (enabled, disabled_reason) on webhooks.endpoints to webhooks_service;
    grant select, insert, update on webhooks.deliveries, webhooks.settings to webhooks_service;
    -- Retention pruning of old deliveries.
    grant delete on webhooks.deliveries to webhooks_service;
    grant select, insert on webhooks.attempts to webhooks_service;
    -- The attempts trigger keeps the streaks; the auto-disable sweep marks them and queues alerts.
    grant select, insert, update on webhooks.failing_streaks, webhooks.alerts to webhooks_service;
    if per_key then
      grant select, insert, update, delete on webhooks.ordered_deliveries to webhooks_service;
    end if;
    grant execute on function webhooks.ensure_attempt_partitions(integer), webhooks.drop_old_attempt_partitions(interval),
                              webhooks.expire_previous_secrets() to webhooks_service;
  end if;
  if cardinality(missing) > 0 then
    raise notice 'webhooks.grant_roles: roles % do not exist and % may not create them', array_to_string(missing, ', '), current_user
      using hint = 'Have a superuser run: create role webhooks_admin nologin; create role webhooks_reader nologin; '
                   'create role webhooks_service nologin; then: select webhooks.grant_roles();';
  end if;
  return missing;
end
$$;

select webhooks.grant_roles();
