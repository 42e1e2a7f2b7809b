-- Request ids compare byte by byte: the primary key needs equality and an order, never a language's collation,
-- and collation-aware comparison (strcoll) is most of what a btree insert costs. With the edge's request ids now
-- time-ordered (UUIDv7), each batch lands at the right edge of the index instead of all over it. Together they cut
-- the database's CPU per usage row by about a third (measured: 14 -> 9 us per row in 500-row batches).
alter table usage_events alter column request_id type text collate "C";
