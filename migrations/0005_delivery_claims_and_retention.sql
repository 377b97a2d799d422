-- Claims, body digests and retention of webhooks.deliveries.
--
-- A first attempt is claimed before it is sent: the dispatcher inserts the delivery row as
-- 'pending' with claimed_by (its instance) and claimed_at, one statement for all the deliveries
-- of an input message. A second copy of the event (a producer retry on the next offset, a replay
-- after a rebalance) finds the row and does not send it again. A claim whose claimer died is taken
-- over once it is older than the claim lease.
--
-- body_digest is the SHA-256 of the webhook body. A replayed event is skipped only if it is the
-- same event: the same delivery id and the same digest. A different event whose id collides (an
-- offset-derived id after its topic was deleted and created again, a producer reusing an id) is
-- delivered under a distinct delivery id.

alter table webhooks.deliveries
  add column body_digest bytea,
  add column claimed_by uuid,
  add column claimed_at timestamptz;

comment on column webhooks.deliveries.body_digest is
  'SHA-256 of the webhook body; a replay with the same id and digest is the same event.';
comment on column webhooks.deliveries.claimed_by is
  'The dispatcher instance that claimed the first attempt (pending, attempts = 0) before sending it.';

-- Retention scans by age; created_at never changes, so this index costs an insert and no update.
create index deliveries_created on webhooks.deliveries (created_at);

-- Deletes deliveries (their payloads with them) created and last updated longer than `older_than`
-- ago that reached a final state, at most `batch_size` rows per call. Returns how many were deleted;
-- call it again while it returns batch_size.
create function webhooks.prune_deliveries(older_than interval, batch_size integer default 10000) returns integer
  language sql
as $$
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

comment on function webhooks.prune_deliveries(interval, integer) is
  'Deletes final deliveries (succeeded, dead, cancelled) older than the retention, in batches (DELIVERY_RETENTION_DAYS).';
