-- dialer-webhooks: only the endpoints admins meant, and secrets that stay secret.
--  * The validation trigger refuses URLs with credentials (user@host), URLs whose host is a literal
--    internal IP address outside DELIVERY_ALLOW_NETWORKS, and plain http while REQUIRE_HTTPS is on
--    (now the default). Each refusal names its column, so a form can show it beside that field.
--    Host names are checked by the dispatcher at send time (they resolve differently over time).
--  * Messages show a URL's scheme and host only: paths and queries carry tokens (Slack-style URLs).
--  * previous_secret is cleared once its overlap ends.
--  * Roles: webhooks_admin, webhooks_reader, webhooks_service (see docs/admin.md, docs/security.md).
-- Forward-only: never edit this file once landed.

-- The database default follows the dispatcher's (REQUIRE_HTTPS=true): a dispatcher started with
-- REQUIRE_HTTPS=false writes 'false' here at start, as before.
update webhooks.settings set value = 'true', updated_at = now() where key = 'require_https';
insert into webhooks.settings (key, value) values ('delivery_allow_networks', '') on conflict (key) do nothing;

-- The IP address a URL's host spells, or null when the host is a name. Follows the WHATWG URL
-- parser (which the dispatcher and undici use) for IPv4: 1 to 4 parts, each decimal, 0x-hex or
-- 0-octal, the last filling the remaining bytes, so 127.1, 2130706433, 0x7f000001 and 0177.0.0.1
-- are all 127.0.0.1. Raises invalid_text_representation for a host that is neither (999.1.1.1).
create function webhooks.url_ip_address(url text) returns inet
language plpgsql immutable strict
set search_path = pg_catalog
as $$
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
$$;

-- The 8 groups of an IPv6 address as integers (host() prints the compressed form).
create function webhooks.ipv6_groups(addr inet) returns integer[]
language plpgsql immutable strict
set search_path = pg_catalog
as $$
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

-- Why the egress guard denies an address (loopback, private, ...), or null when it may be reached.
-- The same ranges as src/delivery/egress-guard.ts; `allow` is DELIVERY_ALLOW_NETWORKS as stored.
create function webhooks.denied_address_reason(addr inet, allow text) returns text
language plpgsql immutable
set search_path = pg_catalog
as $$
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

-- A URL's scheme and host (with port), without credentials, path or query: safe to show.
create function webhooks.url_origin(url text) returns text
language sql immutable strict
set search_path = pg_catalog
as $$ select coalesce(substring(url from '^([A-Za-z][A-Za-z0-9+.-]*://)') || regexp_replace(substring(url from '^[A-Za-z][A-Za-z0-9+.-]*://([^/?#\\]*)'), '^.*@', ''), '(not a URL)') $$;

create or replace function webhooks.validate_endpoint() returns trigger
language plpgsql
as $$
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
$$;

-- Clears every previous secret whose overlap has ended; the dispatcher calls it periodically
-- (the trigger also clears one on any write of its row). Returns how many were cleared.
create function webhooks.expire_previous_secrets() returns integer
language sql
security definer
set search_path = pg_catalog, webhooks
as $$
  with cleared as (
    update webhooks.endpoints
       set previous_secret = null, previous_secret_expires_at = null
     where previous_secret_expires_at <= now()
    returning 1
  )
  select count(*)::integer from cleared
$$;

comment on function webhooks.expire_previous_secrets() is
  'Clears previous_secret of every endpoint whose rotation overlap has ended. Returns how many were cleared.';

-- Partition maintenance needs the table owner's rights; the service role gets only these two
-- functions, not ownership.
alter function webhooks.ensure_attempt_partitions(integer) security definer set search_path = pg_catalog, webhooks;
alter function webhooks.drop_old_attempt_partitions(interval) security definer set search_path = pg_catalog, webhooks;
revoke execute on function webhooks.ensure_attempt_partitions(integer) from public;
revoke execute on function webhooks.drop_old_attempt_partitions(interval) from public;
revoke execute on function webhooks.expire_previous_secrets() from public;

-- Creates the three roles where this user may (they are cluster-wide: another database of the
-- same cluster may have made them already, even concurrently) and grants what each needs on this
-- database. Safe to run again, e.g. after a DBA created the roles for a user without CREATEROLE.
create function webhooks.grant_roles() returns text[]
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
                  previous_secret_expires_at) on webhooks.endpoints to webhooks_reader;
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
