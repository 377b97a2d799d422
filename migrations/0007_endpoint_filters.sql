-- Payload filters: an endpoint may have a `filter` (jsonb) matched against each event's envelope
-- with dotted paths (`data.campaign`) and the operators $eq $ne $in $nin $gt $gte $lt $lte
-- $exists $and $or $not. An event the filter excludes creates no delivery. The checks below are
-- those of src/endpoints/payload-filter.ts, with the same messages, so a stored filter always
-- compiles in the dispatcher.

alter table webhooks.endpoints add column filter jsonb;

create function webhooks.filter_condition_problem(c jsonb, at text, path text) returns text
language plpgsql immutable
set search_path = pg_catalog, public, webhooks
as $$
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
$$;

create function webhooks.filter_problem(f jsonb, at text default 'filter') returns text
language plpgsql immutable
set search_path = pg_catalog, public, webhooks
as $$
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
$$;

create function webhooks.validate_endpoint_filter() returns trigger
language plpgsql
set search_path = pg_catalog, public, webhooks
as $$
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
$$;

create trigger endpoints_validate_filter
  before insert or update of filter on webhooks.endpoints
  for each row execute function webhooks.validate_endpoint_filter();
