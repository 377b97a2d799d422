-- The demo endpoint of docker-compose.yml's `demo` profile: every event type, delivered to the
-- receiver container, signed with the shared demo secret (psql variable from $WEBHOOK_SECRET).
-- Idempotent: running it again restores the endpoint as below. The dispatcher picks the change
-- up at once (the endpoints trigger sends NOTIFY).
\getenv secret WEBHOOK_SECRET
\if :{?secret}
\else
  do $$ begin raise exception 'demo-endpoint.sql: set WEBHOOK_SECRET to the receiver''s shared secret'; end $$;
\endif

-- The demo receiver speaks plain http. The dispatcher (REQUIRE_HTTPS=false in the compose file)
-- writes this setting at its start, which may come after this file runs: say it here too.
update webhooks.settings set value = 'false' where key = 'require_https';

insert into webhooks.endpoints (name, url, secret, event_types, description)
values ('demo-receiver', 'http://receiver:8080/webhooks', :'secret', array['*'],
        'docker compose demo: the receiver container logs and verifies every delivery')
on conflict (name) do update
   set url = excluded.url,
       secret = excluded.secret,
       event_types = excluded.event_types,
       description = excluded.description,
       enabled = true;

select id, name, url, event_types, enabled from webhooks.endpoints where name = 'demo-receiver';
