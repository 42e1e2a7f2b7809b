-- Every registry distributed through PUT /v1/registry, so an operator can see what was applied when
-- and by whom, and a lost file can be recovered.
create table registry_history (
  version     bigint      primary key,
  sha256      text        not null,
  body        text        not null,
  applied_by  text        not null,
  created_at  timestamptz not null default now()
);
