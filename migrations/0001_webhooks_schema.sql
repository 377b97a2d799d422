-- dialer-webhooks: endpoints, the delivery log, and the NOTIFY that keeps dispatchers fresh.
-- Everything lives in schema "webhooks". Forward-only: never edit this file once landed.

create schema if not exists webhooks;

-- Random bytes for secrets. pgcrypto is a trusted extension (PostgreSQL 13+): a database owner
-- may create it without superuser rights.
create extension if not exists pgcrypto;

-- The event catalog, as the dispatcher knows it. The validation trigger names these when an
-- admin subscribes to something else.
create table webhooks.event_types (
  name        text primary key,
  description text not null
);

insert into webhooks.event_types (name, description) values
  ('call.started',    'A new call is initiated'),
  ('call.ended',      'A call completes with disposition'),
  ('agent.login',     'An agent logs into the workspace'),
  ('agent.logout',    'An agent logs out'),
  ('agent.pause',     'An agent enters pause state'),
  ('agent.resume',    'An agent returns from pause'),
  ('lead.updated',    'A lead record is modified'),
  ('recording.ready', 'A recording is available for playback'),
  ('alert.triggered', 'An alert threshold is breached');

-- Installation settings the service writes at start from its configuration.
create table webhooks.settings (
  key        text primary key,
  value      text not null,
  updated_at timestamptz not null default now()
);

insert into webhooks.settings (key, value) values ('require_https', 'false');

-- A new secret in Standard Webhooks form: "whsec_" + base64 of 32 random bytes.
create function webhooks.generate_secret() returns text
language sql volatile
set search_path = pg_catalog, public, webhooks
as $$ select 'whsec_' || encode(gen_random_bytes(32), 'base64') $$;

create table webhooks.endpoints (
  id                  uuid primary key default gen_random_uuid(),
  name                text not null,
  url                 text not null,
  -- The signing key. "whsec_<base64>" secrets are base64-decoded for the Standard Webhooks
  -- signature; X-Webhook-Signature is keyed by the string exactly as stored.
  secret              text not null default webhooks.generate_secret(),
  -- During a rotation the previous secret stays valid until previous_secret_expires_at.
  previous_secret     text,
  previous_secret_expires_at timestamptz,
  -- Subscribed event types; '*' alone means every type.
  event_types         text[] not null,
  enabled             boolean not null default true,
  -- Why the dispatcher (or an admin) disabled it, e.g. after a 410 Gone.
  disabled_reason     text,
  description         text,
  created_at          timestamptz not null default now(),
  updated_at          timestamptz not null default now(),
  constraint endpoints_name_unique unique (name)
);

-- Rejects what would make an endpoint silently useless, with a message that says how to fix it.
create function webhooks.validate_endpoint() returns trigger
language plpgsql
as $$
declare
  unknown text[];
  valid   text;
  is_insert boolean := tg_op = 'INSERT';
begin
  new.name := btrim(new.name);
  if new.name = '' then
    raise exception 'webhooks.endpoints: name must not be empty'
      using errcode = 'check_violation', hint = 'Give the endpoint a short name, e.g. ''crm-sync''.';
  end if;

  -- On UPDATE only the columns that change are checked again, so a setting turned on later
  -- (require_https) or a type retired from the catalog never blocks disabling or renaming.
  if is_insert or new.event_types is distinct from old.event_types then
    if new.event_types is null or cardinality(new.event_types) = 0 or array_position(new.event_types, null) is not null then
      raise exception 'webhooks.endpoints: event_types must be a non-empty list without nulls (endpoint "%")', new.name
        using errcode = 'check_violation',
              hint = 'Subscribe to at least one event type, e.g. array[''call.ended''], or array[''*''] for all.';
    end if;

    select array_agg(t order by t) into unknown
      from unnest(new.event_types) as t
     where t <> '*' and t not in (select e.name from webhooks.event_types e);
    if unknown is not null then
      select string_agg(e.name, ', ' order by e.name) into valid from webhooks.event_types e;
      raise exception 'webhooks.endpoints: unknown event type(s) % for endpoint "%"', array_to_string(unknown, ', '), new.name
        using errcode = 'check_violation', hint = 'Valid event types: ' || valid || ', or * for all.';
    end if;
    -- Keep the list canonical: sorted, without duplicates; '*' absorbs everything else.
    if '*' = any(new.event_types) then
      new.event_types := array['*'];
    else
      select array_agg(distinct t order by t) into new.event_types from unnest(new.event_types) as t;
    end if;
  end if;

  if is_insert or new.url is distinct from old.url then
    if new.url !~* '^https?://[^/?#[:space:]]+[^[:space:]]*$' then
      raise exception 'webhooks.endpoints: url "%" is not an http(s) URL (endpoint "%")', new.url, new.name
        using errcode = 'check_violation', hint = 'Use a full URL without spaces, such as https://crm.example.com/hooks/dialer.';
    end if;
    if new.url ~* '^http://' and coalesce((select s.value from webhooks.settings s where s.key = 'require_https'), 'false') = 'true' then
      raise exception 'webhooks.endpoints: url "%" uses plain http, but this installation requires https (endpoint "%")', new.url, new.name
        using errcode = 'check_violation',
              hint = 'Use an https:// URL, or set REQUIRE_HTTPS=false for the dispatcher (it writes webhooks.settings at start).';
    end if;
  end if;

  if is_insert or new.secret is distinct from old.secret then
    if new.secret is null or length(new.secret) < 16 then
      raise exception 'webhooks.endpoints: secret must be at least 16 characters (endpoint "%")', new.name
        using errcode = 'check_violation', hint = 'Omit the secret to have one generated, or use webhooks.generate_secret().';
    end if;
    if new.secret like 'whsec\_%' and substr(new.secret, 7) !~ '^[A-Za-z0-9+/]{22,}={0,2}$' then
      raise exception 'webhooks.endpoints: a whsec_ secret must be base64 after the prefix (endpoint "%")', new.name
        using errcode = 'check_violation', hint = 'Omit the secret to have one generated, or use webhooks.generate_secret().';
    end if;
  end if;

  if not is_insert then
    new.updated_at := now();
    if new.enabled and not old.enabled then
      new.disabled_reason := null;
    end if;
  end if;
  return new;
end
$$;

create trigger endpoints_validate
  before insert or update on webhooks.endpoints
  for each row execute function webhooks.validate_endpoint();

-- NOTIFY is a hint: dispatchers reload their endpoint index when they hear it, and on a timer
-- in case one is lost. One notification per statement, whatever the number of rows.
create function webhooks.notify_endpoints_changed() returns trigger
language plpgsql
as $$
begin
  perform pg_notify('webhooks_endpoints_changed', tg_op);
  return null;
end
$$;

create trigger endpoints_notify
  after insert or update or delete or truncate on webhooks.endpoints
  for each statement execute function webhooks.notify_endpoints_changed();

-- One row per (event, endpoint). id is a UUID v5 of (event id, endpoint id), so a replayed event
-- finds the delivery it already made.
create table webhooks.deliveries (
  id               uuid primary key,
  endpoint_id      uuid not null,
  event_id         text not null,
  event_type       text not null,
  event_timestamp  timestamptz,
  status           text not null
                   check (status in ('pending', 'succeeded', 'retrying', 'dead', 'cancelled')),
  status_reason    text,
  -- A redelivery starts a new series of attempts under the same delivery id.
  series           integer not null default 1,
  attempts         integer not null default 0,
  last_status_code integer,
  last_error       text,
  first_attempt_at timestamptz,
  last_attempt_at  timestamptz,
  next_attempt_at  timestamptz,
  -- The event envelope bytes, kept only for deliveries that failed (for redelivery).
  payload          bytea,
  created_at       timestamptz not null default now(),
  updated_at       timestamptz not null default now()
);

create index deliveries_endpoint_time on webhooks.deliveries (endpoint_id, created_at desc);
create index deliveries_open_status on webhooks.deliveries (status) where status in ('pending', 'retrying', 'dead');

-- One row per HTTP attempt, append-only, partitioned by month of started_at.
create table webhooks.attempts (
  delivery_id   uuid not null,
  endpoint_id   uuid not null,
  series        integer not null,
  attempt       integer not null,
  started_at    timestamptz not null,
  duration_ms   integer not null,
  -- The delay the schedule put before this attempt (null for the first), and when it was due.
  delay_ms      integer,
  due_at        timestamptz,
  url           text not null,
  outcome       text not null check (outcome in ('succeeded', 'failed', 'cancelled')),
  status_code   integer,
  -- http_status, timeout, network, redirect, ... (null on success)
  error_kind    text,
  error         text,
  response_body text
) partition by range (started_at);

create index attempts_delivery on webhooks.attempts (delivery_id, series, attempt);
create index attempts_endpoint_time on webhooks.attempts (endpoint_id, started_at desc);

-- Catches whatever no monthly partition covers, so an insert never fails for want of one.
create table webhooks.attempts_default partition of webhooks.attempts default;

-- Creates the monthly partitions from this month to `months_ahead` months on, idempotently.
create function webhooks.ensure_attempt_partitions(months_ahead integer default 2) returns void
language plpgsql
as $$
declare
  m date := date_trunc('month', now())::date;
  i integer;
  part text;
begin
  for i in 0..months_ahead loop
    part := format('attempts_%s', to_char(m + make_interval(months => i), 'YYYYMM'));
    if to_regclass('webhooks.' || part) is null then
      execute format(
        'create table webhooks.%I partition of webhooks.attempts for values from (%L) to (%L)',
        part, m + make_interval(months => i), m + make_interval(months => i + 1));
    end if;
  end loop;
end
$$;

-- Drops monthly partitions that lie wholly before now() - keep.
create function webhooks.drop_old_attempt_partitions(keep interval) returns integer
language plpgsql
as $$
declare
  r record;
  dropped integer := 0;
begin
  for r in
    select c.relname
      from pg_inherits i
      join pg_class c on c.oid = i.inhrelid
      join pg_class p on p.oid = i.inhparent
      join pg_namespace n on n.oid = p.relnamespace
     where n.nspname = 'webhooks' and p.relname = 'attempts' and c.relname ~ '^attempts_[0-9]{6}$'
  loop
    if (to_date(substr(r.relname, 10), 'YYYYMM') + interval '1 month') <= now() - keep then
      execute format('drop table webhooks.%I', r.relname);
      dropped := dropped + 1;
    end if;
  end loop;
  return dropped;
end
$$;

select webhooks.ensure_attempt_partitions(2);
