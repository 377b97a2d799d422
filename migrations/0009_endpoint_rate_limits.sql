-- Per-endpoint rate limits: `max_per_second` (a token bucket in each dispatcher; null: unlimited)
-- and `max_in_flight` (requests at once; null: the service's ENDPOINT_CONCURRENCY). The trigger
-- refuses a bad value naming its column, so the CLI and the web admin show it beside the field.

alter table webhooks.endpoints
  add column max_per_second numeric,
  add column max_in_flight integer;

comment on column webhooks.endpoints.max_per_second is
  'Most requests per second to this endpoint from each dispatcher (a token bucket, burst max(1, rate)); null: unlimited.';
comment on column webhooks.endpoints.max_in_flight is
  'Most requests in flight to this endpoint at once in each dispatcher; null: the service''s ENDPOINT_CONCURRENCY.';

create function webhooks.validate_endpoint_limits() returns trigger
language plpgsql
set search_path = pg_catalog, public, webhooks
as $$
begin
  -- 'NaN' > 0 is true in Postgres, and infinity is no rate: both are refused explicitly.
  if new.max_per_second is not null
     and (new.max_per_second = 'NaN'::numeric or new.max_per_second <= 0 or new.max_per_second > 1000000) then
    raise exception 'webhooks.endpoints: max_per_second of endpoint "%" must be a number above 0 and at most 1000000 (got %)',
        new.name, new.max_per_second
      using errcode = 'check_violation', column = 'max_per_second',
            hint = 'Give requests per second, e.g. 5 or 0.5 (one every 2 s); null removes the limit.';
  end if;
  if new.max_in_flight is not null and (new.max_in_flight < 1 or new.max_in_flight > 10000) then
    raise exception 'webhooks.endpoints: max_in_flight of endpoint "%" must be a whole number from 1 to 10000 (got %)',
        new.name, new.max_in_flight
      using errcode = 'check_violation', column = 'max_in_flight',
            hint = 'Give the most requests at once, e.g. 1 for a receiver that handles one at a time; null uses the service default.';
  end if;
  return new;
end
$$;

create trigger endpoints_validate_limits
  before insert or update of max_per_second, max_in_flight on webhooks.endpoints
  for each row execute function webhooks.validate_endpoint_limits();

-- The reader role sees the new columns too (everything else as in 0004).
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
                    webhooks.deliveries, webhooks.attempts to webhooks_reader;
    -- Every endpoint column but the secrets.
    grant select (id, name, url, event_types, enabled, disabled_reason, description, created_at, updated_at,
                  previous_secret_expires_at, max_per_second, max_in_flight) on webhooks.endpoints to webhooks_reader;
  end if;
  if not ('webhooks_admin' = any(missing)) then
    grant usage on schema webhooks to webhooks_admin;
    grant select on webhooks.delivery_log, webhooks.endpoint_health, webhooks.event_types, webhooks.settings,
                    webhooks.deliveries, webhooks.attempts to webhooks_admin;
    grant select, insert, update, delete on webhooks.endpoints to webhooks_admin;
    -- redeliver() and recover() run with the caller's rights.
    grant update on webhooks.deliveries to webhooks_admin;
    grant execute on function webhooks.expire_previous_secrets() to webhooks_admin;
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
  end if;
  if cardinality(missing) > 0 then
    raise notice 'webhooks.grant_roles: roles % do not exist and % may not create them', array_to_string(missing, ', '), current_user
      using hint = 'Have a superuser run: create role webhooks_admin nologin; create role webhooks_reader nologin; '
                   'create role webhooks_service nologin; then: select webhooks.grant_roles();';
  end if;
  return missing;
end
$$;

comment on function webhooks.grant_roles() is
  'Creates webhooks_admin, webhooks_reader and webhooks_service where allowed and grants their privileges on this '
  'database. Returns the roles that are missing (none when all is done). Safe to run again.';

select webhooks.grant_roles();
