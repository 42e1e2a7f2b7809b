-- Access layer: plans, projects, subscriptions, API keys (stored as SHA-256 hashes only) and an audit
-- trail of every change made through the control API.

create table plans (
  name            text        primary key,
  rate_requests   integer     check (rate_requests > 0),
  rate_per_ms     bigint      check (rate_per_ms > 0),
  rate_burst      integer     check (rate_burst > 0),
  quota_requests  bigint      check (quota_requests > 0),
  quota_per       text        check (quota_per in ('day', 'month')),
  services        text[],     -- null: the plan grants every service
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now(),
  check ((rate_requests is null) = (rate_per_ms is null) and (rate_requests is null) = (rate_burst is null)),
  check ((quota_requests is null) = (quota_per is null))
);

create table projects (
  id          text        primary key,
  name        text        not null unique,
  created_at  timestamptz not null default now()
);

create table subscriptions (
  id            text        primary key,
  project_id    text        not null references projects (id),
  plan_name     text        not null references plans (name),
  active_from   timestamptz not null default now(),
  active_until  timestamptz,
  created_at    timestamptz not null default now(),
  check (active_until is null or active_until > active_from)
);
create index subscriptions_project on subscriptions (project_id);
create index subscriptions_plan on subscriptions (plan_name);

create table api_keys (
  id          text        primary key,
  project_id  text        not null references projects (id),
  name        text        not null,
  prefix      text        not null,
  hash        bytea       not null unique,
  expires_at  timestamptz,
  revoked_at  timestamptz,
  created_at  timestamptz not null default now()
);
create index api_keys_project on api_keys (project_id);

create table audit_log (
  id          bigserial   primary key,
  actor       text        not null,
  action      text        not null,
  entity      text        not null,
  entity_id   text        not null,
  detail      jsonb       not null default '{}',
  at          timestamptz not null default now()
);
create index audit_log_entity on audit_log (entity, entity_id);
