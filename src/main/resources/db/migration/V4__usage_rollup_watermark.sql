-- Rollups by watermark instead of a per-row flag: every raw row gets a sequence number, and the rollup job
-- records how far it has counted (usage_rollup_state.rolled_through). Marking each row rolled up was a second
-- write (a new row version, index entries, vacuum) for every request; a watermark is one row per run.
-- Inserts hold a shared advisory lock while they run; the job takes it exclusively for a moment to learn a
-- sequence number below which every insert has finished, so no row is ever skipped.

alter table usage_events add column seq bigint generated always as identity;
create index usage_events_seq on usage_events (seq);

create table usage_rollup_state (
  id              boolean primary key default true check (id),
  rolled_through  bigint  not null
);

-- what the flag still held as not rolled up is counted now, so the watermark starts exact
insert into usage_rollups as r (project_id, service, hour, requests, errors, bytes_in, bytes_out, latency_ms_sum)
select project_id, service, date_trunc('hour', time, 'UTC'), count(*), count(*) filter (where status >= 500),
       sum(bytes_in), sum(bytes_out), sum(latency_ms)
from usage_events where not rolled_up
group by 1, 2, 3
on conflict (project_id, service, hour) do update set
  requests = r.requests + excluded.requests, errors = r.errors + excluded.errors,
  bytes_in = r.bytes_in + excluded.bytes_in, bytes_out = r.bytes_out + excluded.bytes_out,
  latency_ms_sum = r.latency_ms_sum + excluded.latency_ms_sum;

insert into usage_rollup_state (id, rolled_through) values (true, coalesce((select max(seq) from usage_events), 0));

drop index usage_events_unrolled;
alter table usage_events drop column rolled_up;
