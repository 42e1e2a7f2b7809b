-- Rate limits of a plan per route class (issue 21): {"<class>": {"requests": n, "per_ms": n, "burst": n}, ...};
-- null: the plan has none, its rate_limit applies to every request alone.
alter table plans add column class_limits jsonb;
