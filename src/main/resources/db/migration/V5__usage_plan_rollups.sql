-- What quotas stand on: hourly counts of the requests a project was admitted under each plan. A usage event's
-- plan is set only when the request was admitted and counted under that plan (refused requests carry none), so
-- these counts are exactly what the quota counters in Redis counted, and a counter Redis loses is rebuilt from
-- them (plus the raw rows above the rollup watermark). The rollup job fills this table in the same statement
-- as usage_rollups.

create table usage_plan_rollups (
  project_id  text        not null,
  plan        text        not null,
  hour        timestamptz not null,
  requests    bigint      not null,
  primary key (project_id, plan, hour)
);

-- rows already rolled up (at or below the watermark) and not yet pruned are counted now; older ones are gone
insert into usage_plan_rollups (project_id, plan, hour, requests)
select project_id, plan, date_trunc('hour', time, 'UTC'), count(*)
from usage_events
where plan is not null and seq <= (select rolled_through from usage_rollup_state)
group by 1, 2, 3;
