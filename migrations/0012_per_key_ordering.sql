-- Per-key ordering: an endpoint with ordering = 'per_key' receives the deliveries of events with
-- the same Kafka message key in offset order. One key queue is (endpoint, input topic, partition,
-- key); its rows are the deliveries of that queue not settled yet: at most one 'active' (the head,
-- being attempted or retried) and the 'parked' ones behind it, each with what it takes to send it.
-- The functions below are the only writers; each takes the queue's advisory lock first, so enter,
-- release and sweep of one queue never interleave, in this instance or another.

alter table webhooks.endpoints add column ordering text not null default 'none'
  constraint endpoints_ordering_check check (ordering in ('none', 'per_key'));

comment on column webhooks.endpoints.ordering is
  'none: deliveries are independent (default). per_key: deliveries of events with the same Kafka key reach '
  'this endpoint in offset order; later ones wait (parked) while an earlier one is in flight or retrying.';

create table webhooks.ordered_deliveries (
  delivery_id      uuid primary key,
  endpoint_id      uuid not null,
  source_topic     text not null,
  source_partition integer not null,
  source_offset    bigint not null,
  order_key        bytea not null,
  state            text not null check (state in ('active', 'parked')),
  event_id         text not null,
  event_type       text not null,
  event_timestamp  timestamptz,
  -- The webhook body of a parked delivery, sent when it is released; null for a head that entered
  -- active (its handler holds the body, and its retries carry it).
  body             bytea,
  entered_at       timestamptz not null default now(),
  activated_at     timestamptz,
  -- When the released head was handed to the first delay topic; null between its release and the
  -- broker's ack (a crash there is repaired by webhooks.sweep_key_queues).
  handed_off_at    timestamptz,
  constraint ordered_deliveries_position unique (endpoint_id, source_topic, source_partition, order_key, source_offset)
);

create unique index ordered_deliveries_one_head on webhooks.ordered_deliveries
  (endpoint_id, source_topic, source_partition, order_key) where state = 'active';

comment on table webhooks.ordered_deliveries is
  'Unsettled deliveries to per_key endpoints, one queue per (endpoint, topic, partition, key): the active head '
  'and the parked deliveries waiting behind it in offset order. Written only by the webhooks.*_key_queue functions.';

create function webhooks.lock_key_queue(p_endpoint_id uuid, p_topic text, p_partition integer, p_key bytea) returns void
language sql
set search_path = pg_catalog, webhooks
as $$
  -- The two-int form has a key space of its own, apart from the migrator's bigint lock.
  select pg_advisory_xact_lock(hashtext('webhooks.ordered_deliveries'),
                               hashtext(p_endpoint_id::text || '/' || p_topic || '/' || p_partition || '/' || encode(p_key, 'hex')));
$$;

-- A first attempt of a per_key endpoint asks here whether it may be sent now ('active': nothing
-- else of its queue is unsettled) or waits ('parked': stored with its body; its deliveries row
-- loses its claim, so another copy of the event skips it). Asking again returns the first answer.
create function webhooks.enter_key_queue(
  p_delivery_id uuid, p_endpoint_id uuid, p_topic text, p_partition integer, p_offset bigint, p_key bytea,
  p_event_id text, p_event_type text, p_event_timestamp timestamptz, p_body bytea) returns text
language plpgsql
set search_path = pg_catalog, webhooks
as $$
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

-- The head `p_delivery_id` has settled (succeeded, dead or cancelled): it leaves its queue and the
-- next parked delivery, if any, becomes the head and is returned, for the caller to hand to the
-- first delay topic. Idempotent: a delivery that is no head (any more) releases nothing.
create function webhooks.release_key_queue(p_delivery_id uuid)
returns table (delivery_id uuid, endpoint_id uuid, event_id text, event_type text, event_timestamp timestamptz, body bytea)
language plpgsql
set search_path = pg_catalog, webhooks
as $$
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

-- Makes the first parked delivery of a queue without a head its head. Callers hold the queue's lock.
create function webhooks.promote_key_queue(p_endpoint_id uuid, p_topic text, p_partition integer, p_key bytea)
returns table (delivery_id uuid, endpoint_id uuid, event_id text, event_type text, event_timestamp timestamptz, body bytea)
language sql
set search_path = pg_catalog, webhooks
as $$
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

-- The repair run periodically by every dispatcher. Returns the heads to hand to the first delay
-- topic: those released here, and released heads whose hand-off is older than `p_lease` without an
-- ack (the releaser crashed in between; a second copy of the task is skipped by the retry path once
-- the first one has been attempted). Releases the heads that settled without releasing (a crash
-- between the head's log row and its release) and gives a head to any queue left without one.
create function webhooks.sweep_key_queues(p_lease interval)
returns table (delivery_id uuid, endpoint_id uuid, event_id text, event_type text, event_timestamp timestamptz, body bytea)
language plpgsql
set search_path = pg_catalog, webhooks
as $$
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
                    webhooks.deliveries, webhooks.attempts, webhooks.ordered_deliveries to webhooks_reader;
    -- Every endpoint column but the secrets.
    grant select (id, name, url, event_types, enabled, disabled_reason, description, created_at, updated_at,
                  previous_secret_expires_at, ordering) on webhooks.endpoints to webhooks_reader;
  end if;
  if not ('webhooks_admin' = any(missing)) then
    grant usage on schema webhooks to webhooks_admin;
    grant select on webhooks.delivery_log, webhooks.endpoint_health, webhooks.event_types, webhooks.settings,
                    webhooks.deliveries, webhooks.attempts, webhooks.ordered_deliveries to webhooks_admin;
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
    grant select, insert, update, delete on webhooks.ordered_deliveries to webhooks_service;
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
