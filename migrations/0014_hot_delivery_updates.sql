-- dialer-webhooks: a delivery's first success updates its row in place (a HOT update).
--  * Every delivery is written twice: the claim inserts it 'pending', the log flush updates it to
--    its outcome. Two indexes named `status` (deliveries_open_status and deliveries_endpoint_open,
--    in their keys and predicates), so that update was never HOT: it added an entry to every other
--    index of the table too (pkey, deliveries_created, deliveries_endpoint_time, deliveries_source)
--    and left them to bottom-up deletion and vacuum.
--  * Which deliveries are open is now the stored generated column `open_status`: the status of
--    every delivery that is not succeeded, except a first attempt a dispatcher has claimed and is
--    sending ('pending' with claimed_at set and no stored body): null for that one before and
--    after its success, so no index sees that update. A redelivery (pending with a body) and a
--    parked delivery of a per_key endpoint (pending, its claim given up: claimed_at null) are
--    open. The two old indexes are replaced by two on `open_status`, whose rows are only the open
--    ones, as before.
--  * fillfactor 50: a claimed row's update finds room on its own page (a HOT update needs it); the
--    claims fill each new page to half, and the versions a success leaves behind are pruned on the
--    page without vacuum. The heap of deliveries takes up to twice the pages; its indexes get no
--    second entry per delivery.
--  * endpoint_health and recover() select open deliveries through `open_status` (their result is
--    the same, except that endpoint_health's deliveries_retrying no longer counts first attempts
--    in flight: it counts what its comment says, deliveries waiting for a retry, a redelivery or,
--    parked, an earlier delivery of their key).
--  * deliveries_source (migration 0003) is dropped: its one reader, the replay horizon's highest
--    recorded offset per partition, went with the first-attempt claims; every claim still paid
--    an entry in it. The source columns stay (where each delivery's event was read).
--  * track_failing_streaks() returns at once for a flush with no failed attempt whose endpoints
--    have no streak open (it wrote nothing then, but grouped and joined every attempt to know).
-- Adding a stored column rewrites webhooks.deliveries (and rebuilds its indexes) under an exclusive
-- lock: dispatchers wait for it (their claims and log writes block, then go on), see docs/deploy.md.
-- Forward-only: never edit this file once landed.

alter table webhooks.deliveries
  add column open_status text generated always as (
    case when status <> 'succeeded' and (status <> 'pending' or payload is not null or claimed_at is null) then status end
  ) stored;

comment on column webhooks.deliveries.open_status is
  'The status of a delivery that is not succeeded, except a first attempt a dispatcher has claimed and is sending '
  '(pending, claimed_at set, no stored body): null for that one and for a success. Indexed instead of status, so '
  'a first attempt''s success is a HOT update.';

alter table webhooks.deliveries set (fillfactor = 50);

drop index webhooks.deliveries_open_status;
drop index webhooks.deliveries_endpoint_open;
drop index webhooks.deliveries_source;

-- Open deliveries of one endpoint (endpoint_health, recover(), the failing-streak sweep's dead count).
create index deliveries_endpoint_open on webhooks.deliveries (endpoint_id, open_status)
  where open_status is not null;
-- Open deliveries by status alone (the redelivery sweep, `deliveries list --status`).
create index deliveries_open_status on webhooks.deliveries (open_status)
  where open_status is not null;

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
    select (count(*) filter (where d.open_status = 'dead'))::integer                      as deliveries_dead,
           (count(*) filter (where d.open_status in ('pending', 'retrying')))::integer    as deliveries_retrying
      from webhooks.deliveries d
     where d.endpoint_id = e.id and d.open_status in ('pending', 'retrying', 'dead')
  ) o;

-- As in 0002, the failed deliveries selected through deliveries_endpoint_open (open_status).
create or replace function webhooks.recover(endpoint_id uuid, since timestamptz) returns integer
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

-- As in 0013, with the early return.
create or replace function webhooks.track_failing_streaks() returns trigger
language plpgsql
security definer
set search_path = pg_catalog
as $$
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
