-- Where each delivery's event was read. A dispatcher that (re)joins its consumer group reads the
-- highest offset recorded per partition once, and checks for deliveries already made only for
-- events at or below it (or carrying their own event-id): everything above cannot have any.

alter table webhooks.deliveries
  add column source_topic text,
  add column source_partition integer,
  add column source_offset bigint;

create index deliveries_source on webhooks.deliveries (source_topic, source_partition, source_offset desc)
  where source_offset is not null;
