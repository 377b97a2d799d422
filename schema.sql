--
-- PostgreSQL database dump
--

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: webhooks; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA webhooks;

--
-- Name: cancel_replay(uuid); Type: FUNCTION; Schema: webhooks; Owner: -
--

CREATE FUNCTION webhooks.cancel_replay(replay_id uuid) RETURNS text
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'webhooks'
    AS $$
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

--
-- Name: FUNCTION cancel_replay(replay_id uuid); Type: COMMENT; Schema: webhooks; Owner: -
--

COMMENT ON FUNCTION webhooks.cancel_replay(replay_id uuid) IS 'Cancels a queued or running replay; returns its status afterwards (cancelled, or done/failed if it had already ended).';

--
-- Name: denied_address_reason(inet, text); Type: FUNCTION; Schema: webhooks; Owner: -
--

CREATE FUNCTION webhooks.denied_address_reason(addr inet, allow text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO 'pg_catalog'
    AS $$
declare
  a      inet := host(addr)::inet;
  g      integer[];
  inner_ inet;
  r      text;
begin
  -- An IPv4-mapped address is that IPv4 host.
  if family(a) = 6 and a <<= '::ffff:0:0/96'::inet then
    a := '0.0.0.0'::inet + (a - '::ffff:0.0.0.0'::inet);
  end if;
  if exists (select 1 from unnest(string_to_array(coalesce(allow, ''), ',')) c where btrim(c) <> '' and a <<= btrim(c)::inet) then
    return null;
  end if;
  select d.reason into r
    from (values
      ('0.0.0.0/8', 'unspecified'), ('::/128', 'unspecified'),
      ('127.0.0.0/8', 'loopback'), ('::1/128', 'loopback'),
      ('10.0.0.0/8', 'private'), ('172.16.0.0/12', 'private'), ('192.168.0.0/16', 'private'),
      ('fc00::/7', 'private'), ('fec0::/10', 'private'),
      ('169.254.0.0/16', 'link-local'), ('fe80::/10', 'link-local'),
      ('100.64.0.0/10', 'cgnat'),
      ('198.18.0.0/15', 'benchmarking'), ('2001:2::/48', 'benchmarking'),
      ('224.0.0.0/4', 'multicast'), ('ff00::/8', 'multicast'),
      ('240.0.0.0/4', 'reserved'), ('192.0.0.0/24', 'reserved'), ('192.88.99.0/24', 'reserved'),
      ('100::/64', 'reserved'), ('64:ff9b:1::/48', 'reserved'),
      ('192.0.2.0/24', 'documentation'), ('198.51.100.0/24', 'documentation'), ('203.0.113.0/24', 'documentation'),
      ('2001:db8::/32', 'documentation'), ('3fff::/20', 'documentation')
    ) as d(net, reason)
   where family(a) = family(d.net::inet) and a <<= d.net::inet
   limit 1;
  if r is not null then
    return r;
  end if;
  if family(a) = 6 then
    -- IPv6 forms that embed an IPv4 address are denied when that address is.
    if a <<= '::/96'::inet or a <<= '64:ff9b::/96'::inet then
      inner_ := '0.0.0.0'::inet + (a - network(set_masklen(a, 96))::inet);
      r := webhooks.denied_address_reason(inner_, allow);
      return case when r is null then null else 'embedding ' || host(inner_) || ', ' || r end;
    end if;
    if a <<= '2002::/16'::inet or a <<= '2001::/32'::inet then
      g := webhooks.ipv6_groups(a);
      if a <<= '2002::/16'::inet then
        inner_ := '0.0.0.0'::inet + (g[2]::bigint * 65536 + g[3]);
      else
        -- Teredo: the server in plain, the client XOR-ed with ones (RFC 4380); both are reached.
        inner_ := '0.0.0.0'::inet + (g[3]::bigint * 65536 + g[4]);
        r := webhooks.denied_address_reason(inner_, allow);
        if r is not null then
          return 'embedding ' || host(inner_) || ', ' || r;
        end if;
        inner_ := '0.0.0.0'::inet + ((g[7] # 65535)::bigint * 65536 + (g[8] # 65535));
      end if;
      r := webhooks.denied_address_reason(inner_, allow);
      return case when r is null then null else 'embedding ' || host(inner_) || ', ' || r end;
    end if;
  end if;
  return null;
end
$$;

--
-- Name: drop_old_attempt_partitions(interval); Type: FUNCTION; Schema: webhooks; Owner: -
--

CREATE FUNCTION webhooks.drop_old_attempt_partitions(keep interval) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'webhooks'
    AS $_$
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
$_$;

--
-- Name: endpoint_headers_problem(jsonb); Type: FUNCTION; Schema: webhooks; Owner: -
--

CREATE FUNCTION webhooks.endpoint_headers_problem(h jsonb) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO 'pg_catalog', 'public', 'webhooks'
    AS $_$
declare
  k text;
  v jsonb;
  seen text[] := '{}';
  lk text;
begin
  if jsonb_typeof(h) is distinct from 'object' then
    return 'headers must be a JSON object of header names and string values, e.g. {"Authorization": "Bearer …"}';
  end if;
  if (select count(*) from jsonb_object_keys(h)) > 32 then
    return 'at most 32 headers may be set';
  end if;
  for k, v in select * from jsonb_each(h) order by 1 loop
    lk := lower(k);
    if k !~ '^[!#$%&''*+.^_`|~0-9A-Za-z-]+$' then
      return format('header name %s is not a valid HTTP header name (letters, digits and !#$%%&''*+.^_`|~- only)', to_json(k)::text);
    end if;
    if lk in ('content-type', 'host') or lk like 'x-webhook-%' or lk like 'webhook-%' then
      return format('header %s may not be set: Content-Type, Host, X-Webhook-* and webhook-* are the dispatcher''s own', k);
    end if;
    if lk = any(seen) then
      return format('header %s is given twice (names are case-insensitive)', k);
    end if;
    seen := seen || lk;
    if jsonb_typeof(v) <> 'string' then
      return format('header %s must have a string value', k);
    end if;
    -- Only the name goes into a message: the value may be a credential.
    if v #>> '{}' = '' then
      return format('header %s has an empty value', k);
    end if;
    if v #>> '{}' ~ '[^\t\x20-\x7e]' then
      return format('header %s has a value with characters other than printable ASCII (no CR, LF or other control characters)', k);
    end if;
    if v #>> '{}' ~ '^[ \t]|[ \t]$' then
      return format('header %s has a value that starts or ends with white space', k);
    end if;
    if length(v #>> '{}') > 4096 then
      return format('header %s has a value longer than 4096 characters', k);
    end if;
  end loop;
  return null;
end
$_$;

--
-- Name: FUNCTION endpoint_headers_problem(h jsonb); Type: COMMENT; Schema: webhooks; Owner: -
--

COMMENT ON FUNCTION webhooks.endpoint_headers_problem(h jsonb) IS 'Why a value cannot be an endpoint''s headers (a message naming the header, never its value), or null.';

--
-- Name: ensure_attempt_partitions(integer); Type: FUNCTION; Schema: webhooks; Owner: -
--

CREATE FUNCTION webhooks.ensure_attempt_partitions(months_ahead integer DEFAULT 2) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'webhooks'
    AS $$
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

--
-- Name: enter_key_queue(uuid, uuid, text, integer, bigint, bytea, text, text, timestamp with time zone, bytea); Type: FUNCTION; Schema: webhooks; Owner: -
--

CREATE FUNCTION webhooks.enter_key_queue(p_delivery_id uuid, p_endpoint_id uuid, p_topic text, p_partition integer, p_offset bigint, p_key bytea, p_event_id text, p_event_type text, p_event_timestamp timestamp with time zone, p_body bytea) RETURNS text
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'webhooks'
    AS $$
declare
  s text;
  released boolean;
begin
  perform webhooks.lock_key_queue(p_endpoint_id, p_topic, p_partition, p_key);
  select o.state, o.body is not null into s, released from webhooks.ordered_deliveries o where o.delivery_id = p_delivery_id;
  -- A head that was parked and released is sent by its task on the delay topic, not by this caller.
  if found then return case when released then 'parked' else s end; end if;
  if exists (select 1 from webhooks.ordered_deliveries o
              where o.endpoint_id = p_endpoint_id and o.source_topic = p_topic
                and o.source_partition = p_partition and o.order_key = p_key) then
    insert into webhooks.ordered_deliveries
      (delivery_id, endpoint_id, source_topic, source_partition, source_offset, order_key, state,
       event_id, event_type, event_timestamp, body)
    values (p_delivery_id, p_endpoint_id, p_topic, p_partition, p_offset, p_key, 'parked',
            p_event_id, p_event_type, p_event_timestamp, p_body);
    update webhooks.deliveries
       set claimed_at = null, status_reason = 'parked: waits for an earlier delivery of its key', updated_at = now()
     where id = p_delivery_id and status = 'pending' and attempts = 0;
    return 'parked';
  end if;
  insert into webhooks.ordered_deliveries
    (delivery_id, endpoint_id, source_topic, source_partition, source_offset, order_key, state,
     event_id, event_type, event_timestamp, activated_at, handed_off_at)
  values (p_delivery_id, p_endpoint_id, p_topic, p_partition, p_offset, p_key, 'active',
          p_event_id, p_event_type, p_event_timestamp, now(), now());
  return 'active';
end
$$;

--
-- Name: expire_previous_secrets(); Type: FUNCTION; Schema: webhooks; Owner: -
--

CREATE FUNCTION webhooks.expire_previous_secrets() RETURNS integer
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'webhooks'
    AS $$
  with cleared as (
    update webhooks.endpoints
       set previous_secret = null, previous_secret_expires_at = null
     where previous_secret_expires_at <= now()
    returning 1
  )
  select count(*)::integer from cleared
$$;

--
-- Name: FUNCTION expire_previous_secrets(); Type: COMMENT; Schema: webhooks; Owner: -
--

COMMENT ON FUNCTION webhooks.expire_previous_secrets() IS 'Clears previous_secret of every endpoint whose rotation overlap has ended. Returns how many were cleared.';

--
-- Name: filter_condition_problem(jsonb, text, text); Type: FUNCTION; Schema: webhooks; Owner: -
--

CREATE FUNCTION webhooks.filter_condition_problem(c jsonb, at text, path text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO 'pg_catalog', 'public', 'webhooks'
    AS $_$
declare
  op text;
  arg jsonb;
  n_keys integer;
  n_ops integer;
  problem text;
begin
  if jsonb_typeof(c) <> 'object' then return null; end if;
  select count(*), count(*) filter (where k like '$%') into n_keys, n_ops from jsonb_object_keys(c) as k;
  if n_ops = 0 then
    if n_keys = 0 then return format('%s: an empty condition for %s', at, path); end if;
    return null;
  end if;
  if n_ops <> n_keys then
    return format('%s: mixes operators and fields; write {"$eq": {...}} to match an object', at);
  end if;
  for op, arg in select * from jsonb_each(c) loop
    case
      when op in ('$eq', '$ne') then null;
      when op in ('$in', '$nin') then
        if jsonb_typeof(arg) <> 'array' then return format('%s: %s must be an array of values', at, op); end if;
      when op = '$exists' then
        if jsonb_typeof(arg) <> 'boolean' then return format('%s: $exists must be true or false', at); end if;
      when op = '$not' then
        if jsonb_typeof(arg) <> 'object' then
          return format('%s: $not must be an object of operators, e.g. {"$in": [...]}', at);
        end if;
        problem := webhooks.filter_condition_problem(arg, at || '.$not', path);
        if problem is not null then return problem; end if;
      when op in ('$gt', '$gte', '$lt', '$lte') then
        if jsonb_typeof(arg) not in ('number', 'string') then return format('%s: %s must be a number or a string', at, op); end if;
      else
        return format('%s: unknown operator %s (valid: $eq $ne $in $nin $gt $gte $lt $lte $exists $not)', at, op);
    end case;
  end loop;
  return null;
end
$_$;

--
-- Name: filter_problem(jsonb, text); Type: FUNCTION; Schema: webhooks; Owner: -
--

CREATE FUNCTION webhooks.filter_problem(f jsonb, at text DEFAULT 'filter'::text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO 'pg_catalog', 'public', 'webhooks'
    AS $_$
declare
  k text;
  v jsonb;
  e jsonb;
  i integer;
  problem text;
begin
  if jsonb_typeof(f) is distinct from 'object' then
    return format('%s must be a JSON object of paths and conditions', at);
  end if;
  for k, v in select * from jsonb_each(f) loop
    if k in ('$and', '$or') then
      if jsonb_typeof(v) <> 'array' or jsonb_array_length(v) = 0 then
        return format('%s: %s must be a non-empty array of filters', at, k);
      end if;
      i := 0;
      for e in select * from jsonb_array_elements(v) loop
        problem := webhooks.filter_problem(e, format('%s.%s[%s]', at, k, i));
        if problem is not null then return problem; end if;
        i := i + 1;
      end loop;
    elsif k = '$not' then
      problem := webhooks.filter_problem(v, at || '.$not');
      if problem is not null then return problem; end if;
    elsif k like '$%' then
      return format('%s: unknown operator %s (use $and, $or, $not, or a path such as data.campaign)', at, k);
    elsif k !~ '^(event|timestamp|data(\.[^.[:space:]$][^.[:space:]]*)*)$' then
      return format('%s: path "%s" must be event, timestamp or start with data. (e.g. data.campaign)', at, k);
    else
      problem := webhooks.filter_condition_problem(v, format('%s["%s"]', at, k), k);
      if problem is not null then return problem; end if;
    end if;
  end loop;
  return null;
end
$_$;

--
-- Name: generate_secret(); Type: FUNCTION; Schema: webhooks; Owner: -
--

CREATE FUNCTION webhooks.generate_secret() RETURNS text
    LANGUAGE sql
    SET search_path TO 'pg_catalog', 'public', 'webhooks'
    AS $$ select 'whsec_' || encode(gen_random_bytes(32), 'base64') $$;

--
-- Name: grant_roles(); Type: FUNCTION; Schema: webhooks; Owner: -
--

CREATE FUNCTION webhooks.grant_roles() RETURNS text[]
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'webhooks'
    AS $$
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

--
-- Name: FUNCTION grant_roles(); Type: COMMENT; Schema: webhooks; Owner: -
--

COMMENT ON FUNCTION webhooks.grant_roles() IS 'Creates webhooks_admin, webhooks_reader and webhooks_service where allowed and grants their privileges on this database. Returns the roles that are missing (none when all is done). Safe to run again.';

--
-- Name: ipv6_groups(inet); Type: FUNCTION; Schema: webhooks; Owner: -
--

CREATE FUNCTION webhooks.ipv6_groups(addr inet) RETURNS integer[]
    LANGUAGE plpgsql IMMUTABLE STRICT
    SET search_path TO 'pg_catalog'
    AS $$
declare
  t      text := host(addr);
  head   text[];
  tail   text[];
  groups text[];
begin
  if position('::' in t) > 0 then
    head := case when split_part(t, '::', 1) = '' then '{}' else string_to_array(split_part(t, '::', 1), ':') end;
    tail := case when split_part(t, '::', 2) = '' then '{}' else string_to_array(split_part(t, '::', 2), ':') end;
    groups := head || array_fill('0'::text, array[8 - cardinality(head) - cardinality(tail)]) || tail;
  else
    groups := string_to_array(t, ':');
  end if;
  return array(select ('x' || lpad(g, 8, '0'))::bit(32)::integer from unnest(groups) as g);
end
$$;

--
-- Name: json_schema_problem(jsonb, text); Type: FUNCTION; Schema: webhooks; Owner: -
--

CREATE FUNCTION webhooks.json_schema_problem(s jsonb, path text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO 'pg_catalog', 'public', 'webhooks'
    AS $_$
declare
  k text;
  v jsonb;
  p text;
  e jsonb;
  types constant text[] := array['string', 'number', 'integer', 'boolean', 'object', 'array', 'null'];
begin
  if jsonb_typeof(s) = 'boolean' then return null; end if;
  if jsonb_typeof(s) is distinct from 'object' then
    return format('%s must be a JSON object (a schema) or a boolean', path);
  end if;
  for k, v in select * from jsonb_each(s) loop
    case
      when k in ('$schema', '$id', '$comment', 'title', 'description', 'format', '$ref') then
        if jsonb_typeof(v) <> 'string' then return format('%s.%s must be a string', path, k); end if;
      when k in ('default', 'examples', 'const', 'deprecated', 'readOnly', 'writeOnly') then
        null;
      when k = 'type' then
        if jsonb_typeof(v) = 'string' then
          if not (v #>> '{}') = any(types) then
            return format('%s.type %s is not a JSON Schema type (one of %s)', path, v, array_to_string(types, ', '));
          end if;
        elsif jsonb_typeof(v) = 'array' and jsonb_array_length(v) > 0 then
          for e in select * from jsonb_array_elements(v) loop
            if jsonb_typeof(e) <> 'string' or not (e #>> '{}') = any(types) then
              return format('%s.type %s is not a JSON Schema type (one of %s)', path, e, array_to_string(types, ', '));
            end if;
          end loop;
        else
          return format('%s.type must be a type name or a non-empty array of them', path);
        end if;
      when k = 'required' then
        if jsonb_typeof(v) <> 'array' or exists (select 1 from jsonb_array_elements(v) x where jsonb_typeof(x) <> 'string') then
          return format('%s.required must be an array of property names, e.g. ["call_id"]', path);
        end if;
      when k = 'enum' then
        if jsonb_typeof(v) <> 'array' then return format('%s.enum must be an array', path); end if;
      when k in ('properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas') then
        if jsonb_typeof(v) <> 'object' then return format('%s.%s must be an object of schemas', path, k); end if;
        for p, e in select * from jsonb_each(v) loop
          declare problem text := webhooks.json_schema_problem(e, format('%s.%s.%s', path, k, p));
          begin
            if problem is not null then return problem; end if;
          end;
        end loop;
      when k in ('items', 'additionalProperties', 'not', 'contains', 'propertyNames', 'if', 'then', 'else',
                 'unevaluatedProperties', 'additionalItems') then
        if k = 'items' and jsonb_typeof(v) = 'array' then
          for e in select * from jsonb_array_elements(v) loop
            declare problem text := webhooks.json_schema_problem(e, format('%s.items[]', path));
            begin
              if problem is not null then return problem; end if;
            end;
          end loop;
        else
          declare problem text := webhooks.json_schema_problem(v, format('%s.%s', path, k));
          begin
            if problem is not null then return problem; end if;
          end;
        end if;
      when k in ('allOf', 'anyOf', 'oneOf', 'prefixItems') then
        if jsonb_typeof(v) <> 'array' or jsonb_array_length(v) = 0 then
          return format('%s.%s must be a non-empty array of schemas', path, k);
        end if;
        for e in select * from jsonb_array_elements(v) loop
          declare problem text := webhooks.json_schema_problem(e, format('%s.%s[]', path, k));
          begin
            if problem is not null then return problem; end if;
          end;
        end loop;
      when k in ('minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf') then
        if jsonb_typeof(v) <> 'number' then return format('%s.%s must be a number', path, k); end if;
      when k in ('minLength', 'maxLength', 'minItems', 'maxItems', 'minProperties', 'maxProperties', 'minContains', 'maxContains') then
        if jsonb_typeof(v) <> 'number' or (v #>> '{}')::numeric < 0 or (v #>> '{}')::numeric <> trunc((v #>> '{}')::numeric) then
          return format('%s.%s must be a non-negative integer', path, k);
        end if;
      when k = 'uniqueItems' then
        if jsonb_typeof(v) <> 'boolean' then return format('%s.uniqueItems must be true or false', path); end if;
      when k = 'pattern' then
        if jsonb_typeof(v) <> 'string' then return format('%s.pattern must be a regular expression string', path); end if;
      when k = 'dependentRequired' then
        if jsonb_typeof(v) <> 'object' then return format('%s.dependentRequired must be an object', path); end if;
      else
        return format('%s has an unknown JSON Schema keyword "%s"', path, k);
    end case;
  end loop;
  return null;
end
$_$;

--
-- Name: lock_key_queue(uuid, text, integer, bytea); Type: FUNCTION; Schema: webhooks; Owner: -
--

CREATE FUNCTION webhooks.lock_key_queue(p_endpoint_id uuid, p_topic text, p_partition integer, p_key bytea) RETURNS void
    LANGUAGE sql
    SET search_path TO 'pg_catalog', 'webhooks'
    AS $$
  -- The two-int form has a key space of its own, apart from the migrator's bigint lock.
  select pg_advisory_xact_lock(hashtext('webhooks.ordered_deliveries'),
                               hashtext(p_endpoint_id::text || '/' || p_topic || '/' || p_partition || '/' || encode(p_key, 'hex')));
$$;

--
-- Name: notify_endpoints_changed(); Type: FUNCTION; Schema: webhooks; Owner: -
--

CREATE FUNCTION webhooks.notify_endpoints_changed() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
  perform pg_notify('webhooks_endpoints_changed', tg_op);
  return null;
end
$$;

--
-- Name: notify_event_types_changed(); Type: FUNCTION; Schema: webhooks; Owner: -
--

CREATE FUNCTION webhooks.notify_event_types_changed() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
  perform pg_notify('webhooks_event_types_changed', tg_op);
  return null;
end
$$;

--
-- Name: promote_key_queue(uuid, text, integer, bytea); Type: FUNCTION; Schema: webhooks; Owner: -
--

CREATE FUNCTION webhooks.promote_key_queue(p_endpoint_id uuid, p_topic text, p_partition integer, p_key bytea) RETURNS TABLE(delivery_id uuid, endpoint_id uuid, event_id text, event_type text, event_timestamp timestamp with time zone, body bytea)
    LANGUAGE sql
    SET search_path TO 'pg_catalog', 'webhooks'
    AS $$
  update webhooks.ordered_deliveries o
     set state = 'active', activated_at = now(), handed_off_at = null
   where o.delivery_id = (select n.delivery_id from webhooks.ordered_deliveries n
                           where n.endpoint_id = p_endpoint_id and n.source_topic = p_topic
                             and n.source_partition = p_partition and n.order_key = p_key and n.state = 'parked'
                           order by n.source_offset limit 1)
     and not exists (select 1 from webhooks.ordered_deliveries h
                      where h.endpoint_id = p_endpoint_id and h.source_topic = p_topic
                        and h.source_partition = p_partition and h.order_key = p_key and h.state = 'active')
  returning o.delivery_id, o.endpoint_id, o.event_id, o.event_type, o.event_timestamp, o.body;
$$;

--
-- Name: prune_deliveries(interval, integer); Type: FUNCTION; Schema: webhooks; Owner: -
--

CREATE FUNCTION webhooks.prune_deliveries(older_than interval, batch_size integer DEFAULT 10000) RETURNS integer
    LANGUAGE sql
    AS $$
  with old as (
    select id from webhooks.deliveries
     where created_at < now() - older_than
       and updated_at < now() - older_than
       and status in ('succeeded', 'dead', 'cancelled')
     limit batch_size
  ), gone as (
    delete from webhooks.deliveries d using old where d.id = old.id returning 1
  )
  select count(*)::integer from gone
$$;

--
-- Name: FUNCTION prune_deliveries(older_than interval, batch_size integer); Type: COMMENT; Schema: webhooks; Owner: -
--

COMMENT ON FUNCTION webhooks.prune_deliveries(older_than interval, batch_size integer) IS 'Deletes final deliveries (succeeded, dead, cancelled) older than the retention, in batches (DELIVERY_RETENTION_DAYS).';

--
-- Name: recover(uuid, timestamp with time zone); Type: FUNCTION; Schema: webhooks; Owner: -
--

CREATE FUNCTION webhooks.recover(endpoint_id uuid, since timestamp with time zone) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'webhooks'
    AS $$
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
       and d.open_status in ('dead', 'cancelled', 'retrying')
       and (d.open_status <> 'retrying' or d.attempts > 0)
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

--
-- Name: FUNCTION recover(endpoint_id uuid, since timestamp with time zone); Type: COMMENT; Schema: webhooks; Owner: -
--

COMMENT ON FUNCTION webhooks.recover(endpoint_id uuid, since timestamp with time zone) IS 'Requests a fresh delivery of every dead, cancelled or failing delivery of an endpoint whose last attempt is at or after since. Returns how many were requested.';

--
-- Name: redeliver(uuid, boolean); Type: FUNCTION; Schema: webhooks; Owner: -
--

CREATE FUNCTION webhooks.redeliver(delivery_id uuid, force boolean DEFAULT false) RETURNS uuid
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'webhooks'
    AS $$
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

--
-- Name: FUNCTION redeliver(delivery_id uuid, force boolean); Type: COMMENT; Schema: webhooks; Owner: -
--

COMMENT ON FUNCTION webhooks.redeliver(delivery_id uuid, force boolean) IS 'Requests a fresh delivery (a new attempt series, the same delivery id) of a dead, cancelled or failing delivery; a succeeded one only with force => true. Returns the delivery id.';

--
-- Name: release_key_queue(uuid); Type: FUNCTION; Schema: webhooks; Owner: -
--

CREATE FUNCTION webhooks.release_key_queue(p_delivery_id uuid) RETURNS TABLE(delivery_id uuid, endpoint_id uuid, event_id text, event_type text, event_timestamp timestamp with time zone, body bytea)
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'webhooks'
    AS $$
declare
  q record;
begin
  select o.endpoint_id, o.source_topic, o.source_partition, o.order_key into q
    from webhooks.ordered_deliveries o where o.delivery_id = p_delivery_id and o.state = 'active';
  if not found then return; end if;
  perform webhooks.lock_key_queue(q.endpoint_id, q.source_topic, q.source_partition, q.order_key);
  delete from webhooks.ordered_deliveries o where o.delivery_id = p_delivery_id and o.state = 'active';
  if not found then return; end if; -- released meanwhile by another caller
  return query select * from webhooks.promote_key_queue(q.endpoint_id, q.source_topic, q.source_partition, q.order_key);
end
$$;

--
-- Name: replay(uuid, timestamp with time zone, timestamp with time zone, text[]); Type: FUNCTION; Schema: webhooks; Owner: -
--

CREATE FUNCTION webhooks.replay(endpoint_id uuid, since timestamp with time zone, until timestamp with time zone DEFAULT NULL::timestamp with time zone, types text[] DEFAULT NULL::text[]) RETURNS uuid
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'webhooks'
    AS $$
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

--
-- Name: FUNCTION replay(endpoint_id uuid, since timestamp with time zone, until timestamp with time zone, types text[]); Type: COMMENT; Schema: webhooks; Owner: -
--

COMMENT ON FUNCTION webhooks.replay(endpoint_id uuid, since timestamp with time zone, until timestamp with time zone, types text[]) IS 'Requests a replay from Kafka to one endpoint of the events since a time (until a time, of some types). A running dispatcher picks it up; progress and summary are in webhooks.replay_requests. Returns its id.';

--
-- Name: reset_failing_streak(); Type: FUNCTION; Schema: webhooks; Owner: -
--

CREATE FUNCTION webhooks.reset_failing_streak() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
begin
  delete from webhooks.failing_streaks where endpoint_id = new.id;
  return null;
end
$$;

--
-- Name: rotate_secret(uuid, interval); Type: FUNCTION; Schema: webhooks; Owner: -
--

CREATE FUNCTION webhooks.rotate_secret(endpoint_id uuid, overlap interval DEFAULT '24:00:00'::interval) RETURNS text
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'webhooks'
    AS $$
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

--
-- Name: FUNCTION rotate_secret(endpoint_id uuid, overlap interval); Type: COMMENT; Schema: webhooks; Owner: -
--

COMMENT ON FUNCTION webhooks.rotate_secret(endpoint_id uuid, overlap interval) IS 'Sets a new generated secret, keeps the old one valid for overlap (default 24 hours), returns the new secret.';

--
-- Name: sweep_key_queues(interval); Type: FUNCTION; Schema: webhooks; Owner: -
--

CREATE FUNCTION webhooks.sweep_key_queues(p_lease interval) RETURNS TABLE(delivery_id uuid, endpoint_id uuid, event_id text, event_type text, event_timestamp timestamp with time zone, body bytea)
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'webhooks'
    AS $$
declare
  r record;
begin
  for r in select o.delivery_id from webhooks.ordered_deliveries o
             join webhooks.deliveries d on d.id = o.delivery_id
            where o.state = 'active' and d.status in ('succeeded', 'dead', 'cancelled') loop
    return query select * from webhooks.release_key_queue(r.delivery_id);
  end loop;
  for r in select distinct p.endpoint_id, p.source_topic, p.source_partition, p.order_key
             from webhooks.ordered_deliveries p
            where p.state = 'parked'
              and not exists (select 1 from webhooks.ordered_deliveries h
                               where h.endpoint_id = p.endpoint_id and h.source_topic = p.source_topic
                                 and h.source_partition = p.source_partition and h.order_key = p.order_key
                                 and h.state = 'active') loop
    perform webhooks.lock_key_queue(r.endpoint_id, r.source_topic, r.source_partition, r.order_key);
    return query select * from webhooks.promote_key_queue(r.endpoint_id, r.source_topic, r.source_partition, r.order_key);
  end loop;
  -- Taking a stale hand-off renews its lease, so two sweeps at once do not both send it again.
  return query
    update webhooks.ordered_deliveries o set activated_at = now()
     where o.state = 'active' and o.handed_off_at is null and o.activated_at < now() - p_lease
    returning o.delivery_id, o.endpoint_id, o.event_id, o.event_type, o.event_timestamp, o.body;
end
$$;

--
-- Name: track_failing_streaks(); Type: FUNCTION; Schema: webhooks; Owner: -
--

CREATE FUNCTION webhooks.track_failing_streaks() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
begin
  -- Most flushes only succeed, to endpoints with no streak open: nothing to write, so nothing to
  -- group or join (the statement below reads every attempt of the flush for that).
  if not exists (select 1 from new_attempts a where a.outcome = 'failed')
     and not exists (select 1 from webhooks.failing_streaks k
                      where k.failing_since is not null
                        and k.endpoint_id in (select a.endpoint_id from new_attempts a where a.outcome = 'succeeded')) then
    return null;
  end if;
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

--
-- Name: url_ip_address(text); Type: FUNCTION; Schema: webhooks; Owner: -
--

CREATE FUNCTION webhooks.url_ip_address(url text) RETURNS inet
    LANGUAGE plpgsql IMMUTABLE STRICT
    SET search_path TO 'pg_catalog'
    AS $_$
declare
  authority text;
  host      text;
  parts     text[];
  n         integer;
  part      text;
  digit     text;
  base      integer;
  v         numeric;
  total     numeric := 0;
begin
  -- Special schemes treat a backslash like a slash, as the WHATWG parser does.
  authority := substring(url from '^[A-Za-z][A-Za-z0-9+.-]*://([^/?#\\]*)');
  if authority is null then
    return null;
  end if;
  host := regexp_replace(authority, '^.*@', '');
  if host like '[%' then
    return substring(host from '^\[([^]]*)\]')::inet;
  end if;
  host := lower(regexp_replace(host, ':[0-9]*$', ''));
  parts := string_to_array(host, '.');
  n := cardinality(parts);
  if n > 1 and parts[n] = '' then
    parts := parts[1:n - 1];
    n := n - 1;
  end if;
  -- Only a host whose last part is a number is an IPv4 address; anything else is a name.
  if n = 0 or not (parts[n] ~ '^[0-9]+$' or parts[n] ~ '^0x[0-9a-f]*$') then
    return null;
  end if;
  if n > 4 then
    raise exception 'not an IPv4 address: %', host using errcode = 'invalid_text_representation';
  end if;
  for i in 1..n loop
    part := parts[i];
    if part ~ '^0x[0-9a-f]*$' then
      base := 16; part := substr(part, 3);
    elsif part ~ '^0[0-7]+$' then
      base := 8; part := substr(part, 2);
    elsif part ~ '^[0-9]+$' then
      base := 10;
    else
      raise exception 'not an IPv4 address: %', host using errcode = 'invalid_text_representation';
    end if;
    v := 0;
    foreach digit in array regexp_split_to_array(part, '') loop
      continue when digit = '';
      v := v * base + (position(digit in '0123456789abcdef') - 1);
    end loop;
    if (i < n and v > 255) or (i = n and v >= 256::numeric ^ (5 - n)) then
      raise exception 'not an IPv4 address: %', host using errcode = 'invalid_text_representation';
    end if;
    total := total + case when i < n then v * 256::numeric ^ (4 - i) else v end;
  end loop;
  return '0.0.0.0'::inet + total::bigint;
end
$_$;

--
-- Name: url_origin(text); Type: FUNCTION; Schema: webhooks; Owner: -
--

CREATE FUNCTION webhooks.url_origin(url text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT
    SET search_path TO 'pg_catalog'
    AS $$ select coalesce(substring(url from '^([A-Za-z][A-Za-z0-9+.-]*://)') || regexp_replace(substring(url from '^[A-Za-z][A-Za-z0-9+.-]*://([^/?#\\]*)'), '^.*@', ''), '(not a URL)') $$;

--
-- Name: validate_endpoint(); Type: FUNCTION; Schema: webhooks; Owner: -
--

CREATE FUNCTION webhooks.validate_endpoint() RETURNS trigger
    LANGUAGE plpgsql
    AS $_$
declare
  unknown   text[];
  valid     text;
  is_insert boolean := tg_op = 'INSERT';
  addr      inet;
  denied    text;
  allow     text;
begin
  new.name := btrim(new.name);
  if new.name = '' then
    raise exception 'webhooks.endpoints: name must not be empty'
      using errcode = 'check_violation', column = 'name', hint = 'Give the endpoint a short name, e.g. ''crm-sync''.';
  end if;

  -- On UPDATE only the columns that change are checked again, so a setting turned on later
  -- (require_https) or a type retired from the catalog never blocks disabling or renaming.
  if is_insert or new.event_types is distinct from old.event_types then
    if new.event_types is null or cardinality(new.event_types) = 0 or array_position(new.event_types, null) is not null then
      raise exception 'webhooks.endpoints: event_types must be a non-empty list without nulls (endpoint "%")', new.name
        using errcode = 'check_violation', column = 'event_types',
              hint = 'Subscribe to at least one event type, e.g. array[''call.ended''], or array[''*''] for all.';
    end if;

    select array_agg(t order by t) into unknown
      from unnest(new.event_types) as t
     where t <> '*' and t not in (select e.name from webhooks.event_types e);
    if unknown is not null then
      select string_agg(e.name, ', ' order by e.name) into valid from webhooks.event_types e;
      raise exception 'webhooks.endpoints: unknown event type(s) % for endpoint "%"', array_to_string(unknown, ', '), new.name
        using errcode = 'check_violation', column = 'event_types', hint = 'Valid event types: ' || valid || ', or * for all.';
    end if;
    if '*' = any(new.event_types) then
      new.event_types := array['*'];
    else
      select array_agg(distinct t order by t) into new.event_types from unnest(new.event_types) as t;
    end if;
  end if;

  if is_insert or new.url is distinct from old.url then
    if new.url is null or new.url !~* '^https?://[^/?#[:space:]]+[^[:space:]]*$' then
      raise exception 'webhooks.endpoints: url "%" is not an http(s) URL (endpoint "%")', webhooks.url_origin(new.url), new.name
        using errcode = 'check_violation', column = 'url', hint = 'Use a full URL without spaces, such as https://crm.example.com/hooks/dialer.';
    end if;
    if substring(new.url from '^[A-Za-z]+://([^/?#\\]*)') like '%@%' then
      raise exception 'webhooks.endpoints: url must not carry credentials (user@host) (endpoint "%")', new.name
        using errcode = 'check_violation', column = 'url',
              hint = 'Remove the user info: credentials in a URL end up in logs and screens. Receivers authenticate requests by their signature.';
    end if;
    if new.url ~* '^http://' and coalesce((select s.value from webhooks.settings s where s.key = 'require_https'), 'true') = 'true' then
      raise exception 'webhooks.endpoints: url "%" uses plain http, but this installation requires https (endpoint "%")', webhooks.url_origin(new.url), new.name
        using errcode = 'check_violation', column = 'url',
              hint = 'Use an https:// URL, or set REQUIRE_HTTPS=false for the dispatcher (it writes webhooks.settings at start).';
    end if;
    begin
      addr := webhooks.url_ip_address(new.url);
    exception when invalid_text_representation or invalid_parameter_value then
      raise exception 'webhooks.endpoints: url "%" has a host that is neither a name nor an IP address (endpoint "%")', webhooks.url_origin(new.url), new.name
        using errcode = 'check_violation', column = 'url', hint = 'Use a host name such as crm.example.com, or a valid IP address.';
    end;
    if addr is not null then
      allow := (select s.value from webhooks.settings s where s.key = 'delivery_allow_networks');
      denied := webhooks.denied_address_reason(addr, allow);
      if denied is not null then
        raise exception 'webhooks.endpoints: url "%" points to % (%), which the egress guard refuses unless DELIVERY_ALLOW_NETWORKS allows it (endpoint "%")', webhooks.url_origin(new.url), host(addr), denied, new.name
          using errcode = 'check_violation', column = 'url',
                hint = 'Use the receiver''s public address, or, for an internal receiver on purpose, add its network to DELIVERY_ALLOW_NETWORKS for the dispatcher (it writes webhooks.settings at start).';
      end if;
    end if;
  end if;

  if is_insert or new.secret is distinct from old.secret then
    if new.secret is null or length(new.secret) < 16 then
      raise exception 'webhooks.endpoints: secret must be at least 16 characters (endpoint "%")', new.name
        using errcode = 'check_violation', column = 'secret', hint = 'Omit the secret to have one generated, or use webhooks.generate_secret().';
    end if;
    if new.secret like 'whsec\_%' and substr(new.secret, 7) !~ '^[A-Za-z0-9+/]{22,}={0,2}$' then
      raise exception 'webhooks.endpoints: a whsec_ secret must be base64 after the prefix (endpoint "%")', new.name
        using errcode = 'check_violation', column = 'secret', hint = 'Omit the secret to have one generated, or use webhooks.generate_secret().';
    end if;
  end if;

  -- A previous secret past its overlap is gone for good: it must not stay readable in the table.
  if new.previous_secret_expires_at is not null and new.previous_secret_expires_at <= now() then
    new.previous_secret := null;
    new.previous_secret_expires_at := null;
  end if;

  if not is_insert then
    new.updated_at := now();
    if new.enabled and not old.enabled then
      new.disabled_reason := null;
    end if;
  end if;
  return new;
end
$_$;

--
-- Name: validate_endpoint_filter(); Type: FUNCTION; Schema: webhooks; Owner: -
--

CREATE FUNCTION webhooks.validate_endpoint_filter() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public', 'webhooks'
    AS $_$
declare
  problem text;
begin
  if new.filter is not null and jsonb_typeof(new.filter) = 'null' then
    new.filter := null;
  end if;
  if new.filter is not null then
    problem := webhooks.filter_problem(new.filter);
    if problem is not null then
      raise exception 'webhooks.endpoints: bad filter for endpoint "%": %', new.name, problem
        using errcode = 'check_violation', column = 'filter',
              hint = 'A filter looks like {"data.campaign": {"$in": ["Q1-Sales"]}, "data.duration": {"$gte": 60}}; null sends every event.';
    end if;
  end if;
  return new;
end
$_$;

--
-- Name: validate_endpoint_headers(); Type: FUNCTION; Schema: webhooks; Owner: -
--

CREATE FUNCTION webhooks.validate_endpoint_headers() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public', 'webhooks'
    AS $$
declare
  problem text;
begin
  if new.headers is null or jsonb_typeof(new.headers) = 'null' then
    new.headers := '{}'::jsonb;
  end if;
  problem := webhooks.endpoint_headers_problem(new.headers);
  if problem is not null then
    raise exception 'webhooks.endpoints: bad headers for endpoint "%": %', new.name, problem
      using errcode = 'check_violation', column = 'headers',
            hint = 'Headers look like {"Authorization": "Bearer …", "X-Api-Key": "…"}; {} sends none.';
  end if;
  return new;
end
$$;

--
-- Name: validate_endpoint_limits(); Type: FUNCTION; Schema: webhooks; Owner: -
--

CREATE FUNCTION webhooks.validate_endpoint_limits() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public', 'webhooks'
    AS $$
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

--
-- Name: validate_event_type(); Type: FUNCTION; Schema: webhooks; Owner: -
--

CREATE FUNCTION webhooks.validate_event_type() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public', 'webhooks'
    AS $_$
declare
  problem text;
begin
  if new.name !~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$' then
    raise exception 'webhooks.event_types: name "%" must be dotted lower-case words, e.g. sms.sent', new.name
      using errcode = 'check_violation', hint = 'Use the form <object>.<action>, like the spec''s call.ended.';
  end if;
  if new.description is null or btrim(new.description) = '' then
    raise exception 'webhooks.event_types: % needs a description (when it is triggered)', new.name
      using errcode = 'check_violation', hint = 'E.g. ''An SMS message is sent''.';
  end if;
  if new.data_schema is not null then
    problem := webhooks.json_schema_problem(new.data_schema, 'data_schema');
    if problem is not null then
      raise exception 'webhooks.event_types: invalid JSON Schema for %: %', new.name, problem
        using errcode = 'check_violation',
              hint = 'data_schema is a JSON Schema for the event''s data, e.g. {"type": "object", "required": ["call_id"]}; null accepts any object.';
    end if;
  end if;
  if jsonb_typeof(new.sample_data) is distinct from 'object' then
    raise exception 'webhooks.event_types: sample_data of % must be a JSON object', new.name using errcode = 'check_violation';
  end if;
  if tg_op = 'UPDATE' then
    new.updated_at := now();
    if new.data_schema is distinct from old.data_schema then
      new.version := old.version + 1;
    end if;
  end if;
  return new;
end
$_$;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: alerts; Type: TABLE; Schema: webhooks; Owner: -
--

CREATE TABLE webhooks.alerts (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    alert text NOT NULL,
    endpoint_id uuid NOT NULL,
    event jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    claimed_at timestamp with time zone DEFAULT now() NOT NULL,
    produced_at timestamp with time zone,
    CONSTRAINT alerts_alert_check CHECK ((alert = ANY (ARRAY['webhook_endpoint_failing'::text, 'webhook_endpoint_disabled'::text])))
);

--
-- Name: TABLE alerts; Type: COMMENT; Schema: webhooks; Owner: -
--

COMMENT ON TABLE webhooks.alerts IS 'alert.triggered events this service produced (or is about to) to ALERTS_TOPIC: webhook_endpoint_failing and webhook_endpoint_disabled, with the whole event; produced_at is null until the broker acknowledged it.';

--
-- Name: attempts; Type: TABLE; Schema: webhooks; Owner: -
--

CREATE TABLE webhooks.attempts (
    delivery_id uuid NOT NULL,
    endpoint_id uuid NOT NULL,
    series integer NOT NULL,
    attempt integer NOT NULL,
    started_at timestamp with time zone NOT NULL,
    duration_ms integer NOT NULL,
    delay_ms integer,
    due_at timestamp with time zone,
    url text NOT NULL,
    outcome text NOT NULL,
    status_code integer,
    error_kind text,
    error text,
    response_body text,
    traceparent text,
    CONSTRAINT attempts_outcome_check CHECK ((outcome = ANY (ARRAY['succeeded'::text, 'failed'::text, 'cancelled'::text])))
)
PARTITION BY RANGE (started_at);

--
-- Name: attempts_default; Type: TABLE; Schema: webhooks; Owner: -
--

CREATE TABLE webhooks.attempts_default (
    delivery_id uuid NOT NULL,
    endpoint_id uuid NOT NULL,
    series integer NOT NULL,
    attempt integer NOT NULL,
    started_at timestamp with time zone NOT NULL,
    duration_ms integer NOT NULL,
    delay_ms integer,
    due_at timestamp with time zone,
    url text NOT NULL,
    outcome text NOT NULL,
    status_code integer,
    error_kind text,
    error text,
    response_body text,
    traceparent text,
    CONSTRAINT attempts_outcome_check CHECK ((outcome = ANY (ARRAY['succeeded'::text, 'failed'::text, 'cancelled'::text])))
);

--
-- Name: deliveries; Type: TABLE; Schema: webhooks; Owner: -
--

CREATE TABLE webhooks.deliveries (
    id uuid NOT NULL,
    endpoint_id uuid NOT NULL,
    event_id text NOT NULL,
    event_type text NOT NULL,
    event_timestamp timestamp with time zone,
    status text NOT NULL,
    status_reason text,
    series integer DEFAULT 1 NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    last_status_code integer,
    last_error text,
    first_attempt_at timestamp with time zone,
    last_attempt_at timestamp with time zone,
    next_attempt_at timestamp with time zone,
    payload bytea,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    source_topic text,
    source_partition integer,
    source_offset bigint,
    body_digest bytea,
    claimed_by uuid,
    claimed_at timestamp with time zone,
    open_status text GENERATED ALWAYS AS (
CASE
    WHEN ((status <> 'succeeded'::text) AND ((status <> 'pending'::text) OR (payload IS NOT NULL) OR (claimed_at IS NULL))) THEN status
    ELSE NULL::text
END) STORED,
    CONSTRAINT deliveries_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'succeeded'::text, 'retrying'::text, 'dead'::text, 'cancelled'::text])))
)
WITH (fillfactor='50');

--
-- Name: COLUMN deliveries.body_digest; Type: COMMENT; Schema: webhooks; Owner: -
--

COMMENT ON COLUMN webhooks.deliveries.body_digest IS 'SHA-256 of the webhook body; a replay with the same id and digest is the same event.';

--
-- Name: COLUMN deliveries.claimed_by; Type: COMMENT; Schema: webhooks; Owner: -
--

COMMENT ON COLUMN webhooks.deliveries.claimed_by IS 'The dispatcher instance that claimed the first attempt (pending, attempts = 0) before sending it.';

--
-- Name: COLUMN deliveries.open_status; Type: COMMENT; Schema: webhooks; Owner: -
--

COMMENT ON COLUMN webhooks.deliveries.open_status IS 'The status of a delivery that is not succeeded, except a first attempt a dispatcher has claimed and is sending (pending, claimed_at set, no stored body): null for that one and for a success. Indexed instead of status, so a first attempt''s success is a HOT update.';

--
-- Name: endpoints; Type: TABLE; Schema: webhooks; Owner: -
--

CREATE TABLE webhooks.endpoints (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    name text NOT NULL,
    url text NOT NULL,
    secret text DEFAULT webhooks.generate_secret() NOT NULL,
    previous_secret text,
    previous_secret_expires_at timestamp with time zone,
    event_types text[] NOT NULL,
    enabled boolean DEFAULT true NOT NULL,
    disabled_reason text,
    description text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    filter jsonb,
    headers jsonb DEFAULT '{}'::jsonb NOT NULL,
    max_per_second numeric,
    max_in_flight integer,
    ordering text DEFAULT 'none'::text NOT NULL,
    CONSTRAINT endpoints_ordering_check CHECK ((ordering = ANY (ARRAY['none'::text, 'per_key'::text])))
);

--
-- Name: COLUMN endpoints.max_per_second; Type: COMMENT; Schema: webhooks; Owner: -
--

COMMENT ON COLUMN webhooks.endpoints.max_per_second IS 'Most requests per second to this endpoint from each dispatcher (a token bucket, burst max(1, rate)); null: unlimited.';

--
-- Name: COLUMN endpoints.max_in_flight; Type: COMMENT; Schema: webhooks; Owner: -
--

COMMENT ON COLUMN webhooks.endpoints.max_in_flight IS 'Most requests in flight to this endpoint at once in each dispatcher; null: the service''s ENDPOINT_CONCURRENCY.';

--
-- Name: COLUMN endpoints.ordering; Type: COMMENT; Schema: webhooks; Owner: -
--

COMMENT ON COLUMN webhooks.endpoints.ordering IS 'none: deliveries are independent (default). per_key: deliveries of events with the same Kafka key reach this endpoint in offset order; later ones wait (parked) while an earlier one is in flight or retrying.';

--
-- Name: delivery_log; Type: VIEW; Schema: webhooks; Owner: -
--

CREATE VIEW webhooks.delivery_log AS
 SELECT a.started_at AS attempted_at,
    e.name AS endpoint_name,
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
    "left"(a.response_body, 300) AS response_excerpt,
    d.status AS delivery_status,
    d.status_reason AS delivery_status_reason,
    a.traceparent
   FROM ((webhooks.attempts a
     LEFT JOIN webhooks.deliveries d ON ((d.id = a.delivery_id)))
     LEFT JOIN webhooks.endpoints e ON ((e.id = a.endpoint_id)));

--
-- Name: VIEW delivery_log; Type: COMMENT; Schema: webhooks; Owner: -
--

COMMENT ON VIEW webhooks.delivery_log IS 'One row per delivery attempt: endpoint, event, series and attempt number, outcome, HTTP status or error, duration, the delay before it, a response excerpt and the delivery''s current status. Filter on attempted_at (e.g. > now() - interval ''1 hour'') so only recent partitions are read.';

--
-- Name: failing_streaks; Type: TABLE; Schema: webhooks; Owner: -
--

CREATE TABLE webhooks.failing_streaks (
    endpoint_id uuid NOT NULL,
    failing_since timestamp with time zone,
    last_failure_at timestamp with time zone,
    last_error text,
    failed_attempts bigint DEFAULT 0 NOT NULL,
    last_success_at timestamp with time zone,
    failing_alert_at timestamp with time zone,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: TABLE failing_streaks; Type: COMMENT; Schema: webhooks; Owner: -
--

COMMENT ON TABLE webhooks.failing_streaks IS 'Per endpoint: the current failing streak (failing_since is the first failed attempt after the last success), its last error and failed attempts, and when its webhook_endpoint_failing alert was sent. Kept by a trigger on webhooks.attempts; enabling an endpoint again deletes its row.';

--
-- Name: endpoint_health; Type: VIEW; Schema: webhooks; Owner: -
--

CREATE VIEW webhooks.endpoint_health AS
 SELECT e.id AS endpoint_id,
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
    round(((w.succeeded_1h)::numeric / (NULLIF(w.attempts_1h, 0))::numeric), 3) AS success_ratio_1h,
    w.attempts_24h,
    round(((w.succeeded_24h)::numeric / (NULLIF(w.attempts_24h, 0))::numeric), 3) AS success_ratio_24h,
    o.deliveries_dead,
    o.deliveries_retrying,
    k.failing_since,
    COALESCE(k.failed_attempts, (0)::bigint) AS failing_attempts
   FROM (((((webhooks.endpoints e
     LEFT JOIN webhooks.failing_streaks k ON (((k.endpoint_id = e.id) AND (k.failing_since IS NOT NULL))))
     LEFT JOIN LATERAL ( SELECT a.started_at AS last_success_at
           FROM webhooks.attempts a
          WHERE ((a.endpoint_id = e.id) AND (a.outcome = 'succeeded'::text))
          ORDER BY a.started_at DESC
         LIMIT 1) s ON (true))
     LEFT JOIN LATERAL ( SELECT a.started_at AS last_failure_at,
            a.status_code AS last_failure_status_code,
            a.error AS last_failure_error
           FROM webhooks.attempts a
          WHERE ((a.endpoint_id = e.id) AND (a.outcome = 'failed'::text))
          ORDER BY a.started_at DESC
         LIMIT 1) f ON (true))
     CROSS JOIN LATERAL ( SELECT (count(*) FILTER (WHERE (a.started_at >= (now() - '01:00:00'::interval))))::integer AS attempts_1h,
            (count(*) FILTER (WHERE ((a.started_at >= (now() - '01:00:00'::interval)) AND (a.outcome = 'succeeded'::text))))::integer AS succeeded_1h,
            (count(*))::integer AS attempts_24h,
            (count(*) FILTER (WHERE (a.outcome = 'succeeded'::text)))::integer AS succeeded_24h
           FROM webhooks.attempts a
          WHERE ((a.endpoint_id = e.id) AND (a.started_at >= (now() - '24:00:00'::interval)) AND (a.outcome <> 'cancelled'::text))) w)
     CROSS JOIN LATERAL ( SELECT (count(*) FILTER (WHERE (d.open_status = 'dead'::text)))::integer AS deliveries_dead,
            (count(*) FILTER (WHERE (d.open_status = ANY (ARRAY['pending'::text, 'retrying'::text]))))::integer AS deliveries_retrying
           FROM webhooks.deliveries d
          WHERE ((d.endpoint_id = e.id) AND (d.open_status = ANY (ARRAY['pending'::text, 'retrying'::text, 'dead'::text])))) o);

--
-- Name: VIEW endpoint_health; Type: COMMENT; Schema: webhooks; Owner: -
--

COMMENT ON VIEW webhooks.endpoint_health IS 'Per endpoint: last success, last failure and its error, attempts and success ratio over the last hour and the last 24 hours, deliveries dead (redeliverable) and deliveries waiting for a retry or a redelivery, and the current failing streak (failing_since is null when the endpoint is not failing).';

--
-- Name: event_types; Type: TABLE; Schema: webhooks; Owner: -
--

CREATE TABLE webhooks.event_types (
    name text NOT NULL,
    description text NOT NULL,
    data_schema jsonb,
    sample_data jsonb DEFAULT '{}'::jsonb NOT NULL,
    version integer DEFAULT 1 NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: ordered_deliveries; Type: TABLE; Schema: webhooks; Owner: -
--

CREATE TABLE webhooks.ordered_deliveries (
    delivery_id uuid NOT NULL,
    endpoint_id uuid NOT NULL,
    source_topic text NOT NULL,
    source_partition integer NOT NULL,
    source_offset bigint NOT NULL,
    order_key bytea NOT NULL,
    state text NOT NULL,
    event_id text NOT NULL,
    event_type text NOT NULL,
    event_timestamp timestamp with time zone,
    body bytea,
    entered_at timestamp with time zone DEFAULT now() NOT NULL,
    activated_at timestamp with time zone,
    handed_off_at timestamp with time zone,
    CONSTRAINT ordered_deliveries_state_check CHECK ((state = ANY (ARRAY['active'::text, 'parked'::text])))
);

--
-- Name: TABLE ordered_deliveries; Type: COMMENT; Schema: webhooks; Owner: -
--

COMMENT ON TABLE webhooks.ordered_deliveries IS 'Unsettled deliveries to per_key endpoints, one queue per (endpoint, topic, partition, key): the active head and the parked deliveries waiting behind it in offset order. Written only by the webhooks.*_key_queue functions.';

--
-- Name: replay_requests; Type: TABLE; Schema: webhooks; Owner: -
--

CREATE TABLE webhooks.replay_requests (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    endpoint_id uuid NOT NULL,
    since timestamp with time zone NOT NULL,
    until timestamp with time zone,
    types text[],
    requested_by text DEFAULT CURRENT_USER NOT NULL,
    requested_at timestamp with time zone DEFAULT now() NOT NULL,
    status text DEFAULT 'queued'::text NOT NULL,
    scanned bigint DEFAULT 0 NOT NULL,
    matched bigint DEFAULT 0 NOT NULL,
    queued bigint DEFAULT 0 NOT NULL,
    skipped_succeeded bigint DEFAULT 0 NOT NULL,
    filtered bigint DEFAULT 0 NOT NULL,
    in_flight bigint DEFAULT 0 NOT NULL,
    invalid bigint DEFAULT 0 NOT NULL,
    offsets_done bigint DEFAULT 0 NOT NULL,
    offsets_total bigint,
    earliest_available timestamp with time zone,
    error text,
    claimed_by text,
    lease_expires_at timestamp with time zone,
    claims integer DEFAULT 0 NOT NULL,
    started_at timestamp with time zone,
    finished_at timestamp with time zone,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT replay_requests_check CHECK (((until IS NULL) OR (until > since))),
    CONSTRAINT replay_requests_status_check CHECK ((status = ANY (ARRAY['queued'::text, 'running'::text, 'done'::text, 'failed'::text, 'cancelled'::text])))
);

--
-- Name: TABLE replay_requests; Type: COMMENT; Schema: webhooks; Owner: -
--

COMMENT ON TABLE webhooks.replay_requests IS 'Replays from Kafka requested with webhooks.replay(): the request, who runs it, its progress and its summary.';

--
-- Name: schema_migrations; Type: TABLE; Schema: webhooks; Owner: -
--

CREATE TABLE webhooks.schema_migrations (
    migration_set text NOT NULL,
    version integer NOT NULL,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: settings; Type: TABLE; Schema: webhooks; Owner: -
--

CREATE TABLE webhooks.settings (
    key text NOT NULL,
    value text NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: attempts_default; Type: TABLE ATTACH; Schema: webhooks; Owner: -
--

ALTER TABLE ONLY webhooks.attempts ATTACH PARTITION webhooks.attempts_default DEFAULT;

--
-- Name: alerts alerts_pkey; Type: CONSTRAINT; Schema: webhooks; Owner: -
--

ALTER TABLE ONLY webhooks.alerts
    ADD CONSTRAINT alerts_pkey PRIMARY KEY (id);

--
-- Name: deliveries deliveries_pkey; Type: CONSTRAINT; Schema: webhooks; Owner: -
--

ALTER TABLE ONLY webhooks.deliveries
    ADD CONSTRAINT deliveries_pkey PRIMARY KEY (id);

--
-- Name: endpoints endpoints_name_unique; Type: CONSTRAINT; Schema: webhooks; Owner: -
--

ALTER TABLE ONLY webhooks.endpoints
    ADD CONSTRAINT endpoints_name_unique UNIQUE (name);

--
-- Name: endpoints endpoints_pkey; Type: CONSTRAINT; Schema: webhooks; Owner: -
--

ALTER TABLE ONLY webhooks.endpoints
    ADD CONSTRAINT endpoints_pkey PRIMARY KEY (id);

--
-- Name: event_types event_types_pkey; Type: CONSTRAINT; Schema: webhooks; Owner: -
--

ALTER TABLE ONLY webhooks.event_types
    ADD CONSTRAINT event_types_pkey PRIMARY KEY (name);

--
-- Name: failing_streaks failing_streaks_pkey; Type: CONSTRAINT; Schema: webhooks; Owner: -
--

ALTER TABLE ONLY webhooks.failing_streaks
    ADD CONSTRAINT failing_streaks_pkey PRIMARY KEY (endpoint_id);

--
-- Name: ordered_deliveries ordered_deliveries_pkey; Type: CONSTRAINT; Schema: webhooks; Owner: -
--

ALTER TABLE ONLY webhooks.ordered_deliveries
    ADD CONSTRAINT ordered_deliveries_pkey PRIMARY KEY (delivery_id);

--
-- Name: ordered_deliveries ordered_deliveries_position; Type: CONSTRAINT; Schema: webhooks; Owner: -
--

ALTER TABLE ONLY webhooks.ordered_deliveries
    ADD CONSTRAINT ordered_deliveries_position UNIQUE (endpoint_id, source_topic, source_partition, order_key, source_offset);

--
-- Name: replay_requests replay_requests_pkey; Type: CONSTRAINT; Schema: webhooks; Owner: -
--

ALTER TABLE ONLY webhooks.replay_requests
    ADD CONSTRAINT replay_requests_pkey PRIMARY KEY (id);

--
-- Name: schema_migrations schema_migrations_pkey; Type: CONSTRAINT; Schema: webhooks; Owner: -
--

ALTER TABLE ONLY webhooks.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (migration_set, version);

--
-- Name: settings settings_pkey; Type: CONSTRAINT; Schema: webhooks; Owner: -
--

ALTER TABLE ONLY webhooks.settings
    ADD CONSTRAINT settings_pkey PRIMARY KEY (key);

--
-- Name: alerts_endpoint; Type: INDEX; Schema: webhooks; Owner: -
--

CREATE INDEX alerts_endpoint ON webhooks.alerts USING btree (endpoint_id, created_at DESC);

--
-- Name: alerts_unproduced; Type: INDEX; Schema: webhooks; Owner: -
--

CREATE INDEX alerts_unproduced ON webhooks.alerts USING btree (claimed_at) WHERE (produced_at IS NULL);

--
-- Name: attempts_delivery; Type: INDEX; Schema: webhooks; Owner: -
--

CREATE INDEX attempts_delivery ON ONLY webhooks.attempts USING btree (delivery_id, series, attempt);

--
-- Name: attempts_default_delivery_id_series_attempt_idx; Type: INDEX; Schema: webhooks; Owner: -
--

CREATE INDEX attempts_default_delivery_id_series_attempt_idx ON webhooks.attempts_default USING btree (delivery_id, series, attempt);

--
-- Name: attempts_endpoint_time; Type: INDEX; Schema: webhooks; Owner: -
--

CREATE INDEX attempts_endpoint_time ON ONLY webhooks.attempts USING btree (endpoint_id, started_at DESC);

--
-- Name: attempts_default_endpoint_id_started_at_idx; Type: INDEX; Schema: webhooks; Owner: -
--

CREATE INDEX attempts_default_endpoint_id_started_at_idx ON webhooks.attempts_default USING btree (endpoint_id, started_at DESC);

--
-- Name: deliveries_created; Type: INDEX; Schema: webhooks; Owner: -
--

CREATE INDEX deliveries_created ON webhooks.deliveries USING btree (created_at);

--
-- Name: deliveries_endpoint_open; Type: INDEX; Schema: webhooks; Owner: -
--

CREATE INDEX deliveries_endpoint_open ON webhooks.deliveries USING btree (endpoint_id, open_status) WHERE (open_status IS NOT NULL);

--
-- Name: deliveries_endpoint_time; Type: INDEX; Schema: webhooks; Owner: -
--

CREATE INDEX deliveries_endpoint_time ON webhooks.deliveries USING btree (endpoint_id, created_at DESC);

--
-- Name: deliveries_open_status; Type: INDEX; Schema: webhooks; Owner: -
--

CREATE INDEX deliveries_open_status ON webhooks.deliveries USING btree (open_status) WHERE (open_status IS NOT NULL);

--
-- Name: failing_streaks_since; Type: INDEX; Schema: webhooks; Owner: -
--

CREATE INDEX failing_streaks_since ON webhooks.failing_streaks USING btree (failing_since) WHERE (failing_since IS NOT NULL);

--
-- Name: ordered_deliveries_one_head; Type: INDEX; Schema: webhooks; Owner: -
--

CREATE UNIQUE INDEX ordered_deliveries_one_head ON webhooks.ordered_deliveries USING btree (endpoint_id, source_topic, source_partition, order_key) WHERE (state = 'active'::text);

--
-- Name: replay_requests_endpoint; Type: INDEX; Schema: webhooks; Owner: -
--

CREATE INDEX replay_requests_endpoint ON webhooks.replay_requests USING btree (endpoint_id, requested_at DESC);

--
-- Name: replay_requests_open; Type: INDEX; Schema: webhooks; Owner: -
--

CREATE INDEX replay_requests_open ON webhooks.replay_requests USING btree (requested_at) WHERE (status = ANY (ARRAY['queued'::text, 'running'::text]));

--
-- Name: attempts_default_delivery_id_series_attempt_idx; Type: INDEX ATTACH; Schema: webhooks; Owner: -
--

ALTER INDEX webhooks.attempts_delivery ATTACH PARTITION webhooks.attempts_default_delivery_id_series_attempt_idx;

--
-- Name: attempts_default_endpoint_id_started_at_idx; Type: INDEX ATTACH; Schema: webhooks; Owner: -
--

ALTER INDEX webhooks.attempts_endpoint_time ATTACH PARTITION webhooks.attempts_default_endpoint_id_started_at_idx;

--
-- Name: attempts attempts_track_failing_streaks; Type: TRIGGER; Schema: webhooks; Owner: -
--

CREATE TRIGGER attempts_track_failing_streaks AFTER INSERT ON webhooks.attempts REFERENCING NEW TABLE AS new_attempts FOR EACH STATEMENT EXECUTE FUNCTION webhooks.track_failing_streaks();

--
-- Name: endpoints endpoints_notify; Type: TRIGGER; Schema: webhooks; Owner: -
--

CREATE TRIGGER endpoints_notify AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON webhooks.endpoints FOR EACH STATEMENT EXECUTE FUNCTION webhooks.notify_endpoints_changed();

--
-- Name: endpoints endpoints_reset_failing_streak; Type: TRIGGER; Schema: webhooks; Owner: -
--

CREATE TRIGGER endpoints_reset_failing_streak AFTER UPDATE OF enabled ON webhooks.endpoints FOR EACH ROW WHEN ((new.enabled AND (NOT old.enabled))) EXECUTE FUNCTION webhooks.reset_failing_streak();

--
-- Name: endpoints endpoints_validate; Type: TRIGGER; Schema: webhooks; Owner: -
--

CREATE TRIGGER endpoints_validate BEFORE INSERT OR UPDATE ON webhooks.endpoints FOR EACH ROW EXECUTE FUNCTION webhooks.validate_endpoint();

--
-- Name: endpoints endpoints_validate_filter; Type: TRIGGER; Schema: webhooks; Owner: -
--

CREATE TRIGGER endpoints_validate_filter BEFORE INSERT OR UPDATE OF filter ON webhooks.endpoints FOR EACH ROW EXECUTE FUNCTION webhooks.validate_endpoint_filter();

--
-- Name: endpoints endpoints_validate_headers; Type: TRIGGER; Schema: webhooks; Owner: -
--

CREATE TRIGGER endpoints_validate_headers BEFORE INSERT OR UPDATE OF headers ON webhooks.endpoints FOR EACH ROW EXECUTE FUNCTION webhooks.validate_endpoint_headers();

--
-- Name: endpoints endpoints_validate_limits; Type: TRIGGER; Schema: webhooks; Owner: -
--

CREATE TRIGGER endpoints_validate_limits BEFORE INSERT OR UPDATE OF max_per_second, max_in_flight ON webhooks.endpoints FOR EACH ROW EXECUTE FUNCTION webhooks.validate_endpoint_limits();

--
-- Name: event_types event_types_notify; Type: TRIGGER; Schema: webhooks; Owner: -
--

CREATE TRIGGER event_types_notify AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON webhooks.event_types FOR EACH STATEMENT EXECUTE FUNCTION webhooks.notify_event_types_changed();

--
-- Name: event_types event_types_validate; Type: TRIGGER; Schema: webhooks; Owner: -
--

CREATE TRIGGER event_types_validate BEFORE INSERT OR UPDATE ON webhooks.event_types FOR EACH ROW EXECUTE FUNCTION webhooks.validate_event_type();

--
-- Name: failing_streaks failing_streaks_endpoint_id_fkey; Type: FK CONSTRAINT; Schema: webhooks; Owner: -
--

ALTER TABLE ONLY webhooks.failing_streaks
    ADD CONSTRAINT failing_streaks_endpoint_id_fkey FOREIGN KEY (endpoint_id) REFERENCES webhooks.endpoints(id) ON DELETE CASCADE;

--
-- Name: replay_requests replay_requests_endpoint_id_fkey; Type: FK CONSTRAINT; Schema: webhooks; Owner: -
--

ALTER TABLE ONLY webhooks.replay_requests
    ADD CONSTRAINT replay_requests_endpoint_id_fkey FOREIGN KEY (endpoint_id) REFERENCES webhooks.endpoints(id) ON DELETE CASCADE;

--
-- PostgreSQL database dump complete
--
