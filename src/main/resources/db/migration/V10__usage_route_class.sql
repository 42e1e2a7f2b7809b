-- Usage per route class (issue 21): the class of the route a request took (null for a service without routes), and
-- hourly rollups per project, service and class beside the per-service ones. Expand only: the previous release
-- inserts without the column (null) and never reads the new table.
alter table usage_events add column route_class text check (route_class is null or length(route_class) <= 256);

create table usage_class_rollups (
  project_id  text        not null,
  service     text        not null,
  route_class text        not null,
  hour        timestamptz not null,
  requests    bigint      not null default 0,
  errors      bigint      not null default 0,   -- status >= 500
  limited     bigint      not null default 0,   -- status 429
  cost        bigint      not null default 0,   -- credits charged
  primary key (project_id, service, route_class, hour)
);
