-- Per-endpoint request headers and the trace context of each attempt.
--
-- 1. webhooks.endpoints.headers: extra request headers sent with every attempt to the endpoint
--    (first, retry, redelivery, replay, test event), e.g. {"Authorization": "Bearer …"}. Values
--    are secrets like the signing secret: the reader role gets no privilege on the column (its
--    grants are per column, see webhooks.grant_roles() in 0004), and the CLI, the web admin and
--    the logs show names only. The trigger below refuses what could change the meaning of a
--    request: the dispatcher's own headers (Content-Type, Host, X-Webhook-*, webhook-*), a name
--    that is not an HTTP token, a value with control characters (CR/LF would split headers), and
--    anything but an object of strings. The same rules are in src/endpoints/endpoint-headers.ts.
-- 2. webhooks.attempts.traceparent: the W3C traceparent sent with the attempt (null when none
--    was), so an attempt can be found in the producer's trace.

alter table webhooks.endpoints add column headers jsonb not null default '{}'::jsonb;

alter table webhooks.attempts add column traceparent text;

create function webhooks.endpoint_headers_problem(h jsonb) returns text
language plpgsql immutable
set search_path = pg_catalog, public, webhooks
as $$
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
$$;

comment on function webhooks.endpoint_headers_problem(jsonb) is
  'Why a value cannot be an endpoint''s headers (a message naming the header, never its value), or null.';

create function webhooks.validate_endpoint_headers() returns trigger
language plpgsql
set search_path = pg_catalog, public, webhooks
as $$
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

create trigger endpoints_validate_headers
  before insert or update of headers on webhooks.endpoints
  for each row execute function webhooks.validate_endpoint_headers();

-- The delivery log view gains the traceparent of each attempt (a new last column).
create or replace view webhooks.delivery_log as
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
       d.status_reason              as delivery_status_reason,
       a.traceparent
  from webhooks.attempts a
  left join webhooks.deliveries d on d.id = a.delivery_id
  left join webhooks.endpoints e on e.id = a.endpoint_id;
