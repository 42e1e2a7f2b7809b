-- Adds a top-up to a credit balance Redis holds. Redis 6.2 compatible.
--
-- KEYS[1]  the balance (as in credits.lua)
-- ARGV     credits to add
--
-- A balance Redis does not hold is left alone: whoever needs it next rebuilds it from the ledger, where the top-up
-- is already stored. Returns the balance after the top-up, or -1 when Redis holds none.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return -1
end
return redis.call('INCRBY', KEYS[1], tonumber(ARGV[1]))
