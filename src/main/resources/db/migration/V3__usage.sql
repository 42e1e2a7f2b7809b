-- Usage: one raw row per request (exactly once per request id), hourly rollups, and the events that could
-- never be written. No foreign key to projects: an event may arrive (from the journal, hours late) for a
-- project deleted meanwhile, and must still be counted. The checks below are what makes an event "poison":
-- a row that violates one goes to usage_dead_letters instead.

create table usage_events (
  request_id  text        primary key check (length(request_id) between 1 and 256),
  time        timestamptz not null,
  project_id  text        not null check (length(project_id) between 1 and 256),
  key_id      text        check (length(key_id) <= 256),
  plan        text        check (length(plan) <= 256),
  service     text        not null check (length(service) between 1 and 256),
  status      integer     not null check (status between 100 and 599),
  latency_ms  bigint      not null check (latency_ms >= 0),
  bytes_in    bigint      not null check (bytes_in >= 0),
  bytes_out   bigint      not null check (bytes_out >= 0),
  node        text        check (length(node) <= 256),
  -- set once the row is counted in usage_rollups; the usage API adds raw rows only while false, so totals stay
  -- exact however late an event arrives
  rolled_up   boolean     not null default false
);
-- the raw tail the usage API reads and the rollup job drains: small, since rows leave it within a minute
create index usage_events_unrolled on usage_events (project_id, time) where not rolled_up;
-- retention deletes by time
create index usage_events_time on usage_events (time);

-- errors = responses with status >= 500 (server-side failures, the gateway's included); 4xx are the
-- client's own mistakes (bad key, rate limited) and count as requests only
create table usage_rollups (
  project_id      text        not null,
  service         text        not null,
  hour            timestamptz not null,
  requests        bigint      not null,
  errors          bigint      not null,
  bytes_in        bigint      not null,
  bytes_out       bigint      not null,
  latency_ms_sum  bigint      not null,
  primary key (project_id, service, hour)
);

create table usage_dead_letters (
  id           bigserial   primary key,
  -- SHA-256 of the event text: a poison event replayed from the journal is recorded once
  digest       text        not null unique,
  request_id   text,
  received_at  timestamptz not null default now(),
  node         text,
  event        text        not null,   -- as received, JSON-encoded (text, not jsonb: jsonb refuses \u0000)
  reason       text        not null
);
create index usage_dead_letters_received on usage_dead_letters (received_at);
