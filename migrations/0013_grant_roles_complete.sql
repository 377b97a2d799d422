-- dialer-webhooks: one complete webhooks.grant_roles(), and the failing-streak trigger fixed.
--  * Migrations 0010, 0011 and 0012 were written side by side and each replaced grant_roles()
--    with its own version: whichever ran last forgot the others' tables (replay_requests,
--    failing_streaks and alerts, ordered_deliveries). This version grants on all of them, and
--    gives webhooks_reader every endpoint column except the secrets (secret, previous_secret,
--    headers), computed from the catalog, so a later column (filter, ordering, limits …) is
--    readable without another copy of the list. Later migrations that add tables extend it.
--  * track_failing_streaks() inserted a streak for an attempt whose endpoint does not exist (it
--    was deleted between the attempt and the log write, or a row written without one), and the
--    streak's foreign key then refused the whole delivery-log flush. It now skips such attempts.
-- Forward-only: never edit this file once landed.

create or replace function webhooks.track_failing_streaks() returns trigger
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
            -- Only endpoints that still exist: the streak references its endpoint, and an attempt
            -- of one deleted meanwhile (or a row written without one) must not refuse the flush.
            join webhooks.endpoints e on e.id = a.endpoint_id
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

create or replace function webhooks.grant_roles() returns text[]
language plpgsql
set search_path = pg_catalog, webhooks
as $$
declare
  role_name  text;
  missing    text[] := '{}';
  can_create boolean := (select r.rolsuper or r.rolcreaterole from pg_roles r where r.rolname = current_user);
  -- Every endpoint column but the secrets, for webhooks_reader.
  open_columns text := (
    select string_agg(quote_ident(a.attname), ', ' order by a.attnum)
      from pg_attribute a
     where a.attrelid = 'webhooks.endpoints'::regclass and a.attnum > 0 and not a.attisdropped
       and a.attname not in ('secret', 'previous_secret', 'headers'));
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
                    webhooks.deliveries, webhooks.attempts, webhooks.replay_requests, webhooks.failing_streaks,
                    webhooks.alerts, webhooks.ordered_deliveries to webhooks_reader;
    execute format('grant select (%s) on webhooks.endpoints to webhooks_reader', open_columns);
  end if;
  if not ('webhooks_admin' = any(missing)) then
    grant usage on schema webhooks to webhooks_admin;
    grant select on webhooks.delivery_log, webhooks.endpoint_health, webhooks.event_types, webhooks.settings,
                    webhooks.deliveries, webhooks.attempts, webhooks.replay_requests, webhooks.failing_streaks,
                    webhooks.alerts, webhooks.ordered_deliveries to webhooks_admin;
    grant select, insert, update, delete on webhooks.endpoints to webhooks_admin;
    -- redeliver() and recover() run with the caller's rights.
    grant update on webhooks.deliveries to webhooks_admin;
    grant execute on function webhooks.expire_previous_secrets() to webhooks_admin;
    -- replay() and cancel_replay() too.
    grant insert (endpoint_id, since, until, types) on webhooks.replay_requests to webhooks_admin;
    grant update (status, finished_at, updated_at) on webhooks.replay_requests to webhooks_admin;
    grant execute on function webhooks.replay(uuid, timestamptz, timestamptz, text[]), webhooks.cancel_replay(uuid) to webhooks_admin;
  end if;
  if not ('webhooks_service' = any(missing)) then
    grant usage on schema webhooks to webhooks_service;
    grant select on webhooks.endpoints, webhooks.event_types, webhooks.schema_migrations to webhooks_service;
    grant update (enabled, disabled_reason) on webhooks.endpoints to webhooks_service;
    grant select, insert, update on webhooks.deliveries, webhooks.settings to webhooks_service;
    -- Retention pruning of old deliveries.
    grant delete on webhooks.deliveries to webhooks_service;
    grant select, insert on webhooks.attempts to webhooks_service;
    grant execute on function webhooks.ensure_attempt_partitions(integer), webhooks.drop_old_attempt_partitions(interval),
                              webhooks.expire_previous_secrets() to webhooks_service;
    -- Claims replay requests and writes their progress.
    grant select, update on webhooks.replay_requests to webhooks_service;
    -- The attempts trigger keeps the streaks; the auto-disable sweep marks them and queues alerts.
    grant select, insert, update on webhooks.failing_streaks, webhooks.alerts to webhooks_service;
    -- Per-key ordering's key queues.
    grant select, insert, update, delete on webhooks.ordered_deliveries to webhooks_service;
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
