-- Replay from Kafka, requested in SQL: webhooks.replay(endpoint_id, since, until, types) records a
-- request and NOTIFYs; a running dispatcher claims it, reads the input topics from the brokers'
-- time index with a consumer group of its own and queues the endpoint's missed deliveries on the
-- first retry topic (src/replay/). The row is the request, its progress and its summary.
--
-- One dispatcher runs a given replay: the claim moves it to 'running' under a lease
-- (lease_expires_at) that the runner renews with every progress write. A replay whose lease ran
-- out (its runner died) is claimed again by any dispatcher and restarts from `since`: a replay is
-- idempotent (deliveries already succeeded are skipped), so a restart only repeats the reading.
-- After three claims it is marked failed instead, so a replay that kills its runner cannot go
-- round the fleet for ever.

create table webhooks.replay_requests (
  id                uuid primary key default gen_random_uuid(),
  endpoint_id       uuid not null references webhooks.endpoints (id) on delete cascade,
  since             timestamptz not null,
  -- Null: up to the end of the topics as they are when the replay starts.
  until             timestamptz,
  -- Null: every type the endpoint's subscription takes.
  types             text[],
  requested_by      text not null default current_user,
  requested_at      timestamptz not null default now(),
  status            text not null default 'queued'
                    check (status in ('queued', 'running', 'done', 'failed', 'cancelled')),
  -- Messages read, events the subscription (and types) and the filter take, deliveries queued,
  -- matching events already delivered (skipped), events the endpoint's payload filter excluded,
  -- matching events whose delivery was under way (left to it), messages that are no valid event.
  scanned           bigint not null default 0,
  matched           bigint not null default 0,
  queued            bigint not null default 0,
  skipped_succeeded bigint not null default 0,
  filtered          bigint not null default 0,
  in_flight         bigint not null default 0,
  invalid           bigint not null default 0,
  offsets_done      bigint not null default 0,
  offsets_total     bigint,
  -- Set when `since` is older than the topics' retention: the earliest event still kept.
  earliest_available timestamptz,
  error             text,
  -- Who runs it (a dispatcher's instance id) and until when the claim holds without a renewal.
  claimed_by        text,
  lease_expires_at  timestamptz,
  claims            integer not null default 0,
  started_at        timestamptz,
  finished_at       timestamptz,
  updated_at        timestamptz not null default now(),
  check (until is null or until > since)
);

create index replay_requests_open on webhooks.replay_requests (requested_at) where status in ('queued', 'running');
create index replay_requests_endpoint on webhooks.replay_requests (endpoint_id, requested_at desc);

comment on table webhooks.replay_requests is
  'Replays from Kafka requested with webhooks.replay(): the request, who runs it, its progress and its summary.';

create function webhooks.replay(endpoint_id uuid, since timestamptz, until timestamptz default null, types text[] default null)
returns uuid
language plpgsql
set search_path = pg_catalog, webhooks
as $$
declare
  ep      webhooks.endpoints%rowtype;
  unknown text[];
  new_id  uuid;
begin
  if replay.endpoint_id is null or replay.since is null then
    raise exception 'webhooks.replay: endpoint_id and since must not be null'
      using errcode = 'null_value_not_allowed';
  end if;
  select * into ep from webhooks.endpoints e where e.id = replay.endpoint_id;
  if not found then
    raise exception 'webhooks.replay: no endpoint with id %', replay.endpoint_id
      using errcode = 'no_data_found',
            hint = 'Endpoint ids are in webhooks.endpoints, e.g. select id, name from webhooks.endpoints order by name';
  end if;
  if not ep.enabled then
    raise exception 'webhooks.replay: endpoint "%" is disabled (%), so its deliveries would be cancelled at once', ep.name, coalesce(ep.disabled_reason, 'no reason given')
      using errcode = 'object_not_in_prerequisite_state',
            hint = 'Enable it first: update webhooks.endpoints set enabled = true where name = ''' || ep.name || ''';';
  end if;
  if replay.since > now() then
    raise exception 'webhooks.replay: since % is in the future', replay.since
      using errcode = 'invalid_parameter_value',
            hint = 'A replay delivers events already in Kafka, e.g. since => now() - interval ''1 day''.';
  end if;
  if replay.until is not null and replay.until <= replay.since then
    raise exception 'webhooks.replay: until % must be later than since %', replay.until, replay.since
      using errcode = 'invalid_parameter_value';
  end if;
  if replay.types is not null then
    if cardinality(replay.types) = 0 then
      raise exception 'webhooks.replay: types must be null (every subscribed type) or name at least one event type'
        using errcode = 'invalid_parameter_value';
    end if;
    select array_agg(t order by t) into unknown
      from unnest(replay.types) as t
     where not exists (select 1 from webhooks.event_types et where et.name = t);
    if unknown is not null then
      raise exception 'webhooks.replay: unknown event type %', array_to_string(unknown, ', ')
        using errcode = 'invalid_parameter_value',
              hint = 'The event types are in webhooks.event_types (select name from webhooks.event_types order by name).';
    end if;
  end if;

  insert into webhooks.replay_requests (endpoint_id, since, until, types)
  values (ep.id, replay.since, replay.until, replay.types)
  returning id into new_id;
  perform pg_notify('webhooks_replays', new_id::text);
  return new_id;
end
$$;

comment on function webhooks.replay(uuid, timestamptz, timestamptz, text[]) is
  'Requests a replay from Kafka to one endpoint of the events since a time (until a time, of some types). '
  'A running dispatcher picks it up; progress and summary are in webhooks.replay_requests. Returns its id.';

create function webhooks.cancel_replay(replay_id uuid) returns text
language plpgsql
set search_path = pg_catalog, webhooks
as $$
declare
  r webhooks.replay_requests%rowtype;
begin
  select * into r from webhooks.replay_requests where id = cancel_replay.replay_id for update;
  if not found then
    raise exception 'webhooks.cancel_replay: no replay with id %', cancel_replay.replay_id
      using errcode = 'no_data_found',
            hint = 'Replays are in webhooks.replay_requests, e.g. select id, status, requested_at from webhooks.replay_requests order by requested_at desc';
  end if;
  if r.status not in ('queued', 'running') then
    raise notice 'webhooks.cancel_replay: replay % is already %', r.id, r.status;
    return r.status;
  end if;
  -- A running replay stops at its next progress write (or at once, woken by the NOTIFY); the
  -- deliveries it queued before are sent.
  update webhooks.replay_requests
     set status = 'cancelled',
         finished_at = now(),
         updated_at = now()
   where id = r.id;
  perform pg_notify('webhooks_replays', r.id::text);
  return 'cancelled';
end
$$;

comment on function webhooks.cancel_replay(uuid) is
  'Cancels a queued or running replay; returns its status afterwards (cancelled, or done/failed if it had already ended).';

-- webhooks.replay() and cancel_replay() run with the caller's rights (requested_by is the caller):
-- the admin role may insert requests and change their status, nothing else of the progress.
revoke execute on function webhooks.replay(uuid, timestamptz, timestamptz, text[]) from public;
revoke execute on function webhooks.cancel_replay(uuid) from public;

-- As in 0004, plus the replay requests: readers and admins read them, admins request and cancel,
-- the service claims and updates them. A later migration that replaces grant_roles() again must
-- keep these grants.
create or replace function webhooks.grant_roles() returns text[]
language plpgsql
set search_path = pg_catalog, webhooks
as $$
declare
  role_name text;
  missing   text[] := '{}';
  can_create boolean := (select r.rolsuper or r.rolcreaterole from pg_roles r where r.rolname = current_user);
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
                    webhooks.deliveries, webhooks.attempts, webhooks.replay_requests to webhooks_reader;
    -- Every endpoint column but the secrets.
    grant select (id, name, url, event_types, enabled, disabled_reason, description, created_at, updated_at,
                  previous_secret_expires_at) on webhooks.endpoints to webhooks_reader;
  end if;
  if not ('webhooks_admin' = any(missing)) then
    grant usage on schema webhooks to webhooks_admin;
    grant select on webhooks.delivery_log, webhooks.endpoint_health, webhooks.event_types, webhooks.settings,
                    webhooks.deliveries, webhooks.attempts, webhooks.replay_requests to webhooks_admin;
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
  end if;
  -- Where migrations 0011 (auto-disable) and 0012 (per-key ordering), numbered later but landed
  -- first, are applied before this one, their grants are kept.
  if to_regclass('webhooks.failing_streaks') is not null and to_regclass('webhooks.alerts') is not null then
    if not ('webhooks_reader' = any(missing)) then
      grant select on webhooks.failing_streaks, webhooks.alerts to webhooks_reader;
    end if;
    if not ('webhooks_admin' = any(missing)) then
      grant select on webhooks.failing_streaks, webhooks.alerts to webhooks_admin;
    end if;
    if not ('webhooks_service' = any(missing)) then
      grant select, insert, update on webhooks.failing_streaks, webhooks.alerts to webhooks_service;
    end if;
  end if;
  if to_regclass('webhooks.ordered_deliveries') is not null then
    if not ('webhooks_reader' = any(missing)) then
      grant select on webhooks.ordered_deliveries to webhooks_reader;
      grant select (ordering) on webhooks.endpoints to webhooks_reader;
    end if;
    if not ('webhooks_admin' = any(missing)) then
      grant select on webhooks.ordered_deliveries to webhooks_admin;
    end if;
    if not ('webhooks_service' = any(missing)) then
      grant select, insert, update, delete on webhooks.ordered_deliveries to webhooks_service;
    end if;
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
