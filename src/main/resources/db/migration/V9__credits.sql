-- Credits (issue 21): a plan's credit grant, the top-ups bought on top of it, and what each request cost.
-- A balance lives in Redis; when Redis loses it, it is rebuilt from these rows: the grant, plus the top-ups of the
-- period, minus the costs the usage events of the period carry.

-- {"amount": n, "refill": "day" | "month" | "none", "costs": {"<class>": n}}; null: the plan grants no credits
alter table plans add column credits jsonb;

create table credit_topups (
  id          bigserial   primary key,
  project_id  text        not null references projects (id),
  plan_name   text        not null references plans (name),
  amount      bigint      not null check (amount > 0),
  at          timestamptz not null default now()
);
create index credit_topups_owner on credit_topups (project_id, plan_name, at);

-- credits a request consumed (0: none, or the request was not charged); rolled up per plan and hour beside requests
alter table usage_events add column cost bigint not null default 0 check (cost >= 0);
alter table usage_plan_rollups add column cost bigint not null default 0;
