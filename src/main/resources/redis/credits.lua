-- Charges one request's cost to a credit balance, atomically: the balance never goes below 0. Redis 6.2 compatible.
--
-- KEYS[1]  the balance of a project under a plan for one credit period (the key names the period, so a refill is a
--          new key holding the grant)
-- ARGV     cost (0 = only look), seed (the balance rebuilt from the usage ledger, or -1: none), ttl ms (0: none)
--
-- A missing balance is a new period or a balance Redis lost (restart, eviction). Without a seed nothing is charged
-- and the caller learns (-1) that it must rebuild the balance (grant + top-ups - costs recorded in the period) and
-- call again with that seed; the first seed to arrive wins, later ones find the balance there.
-- Returns {1 charged | 0 refused (cost above the balance) | -1 balance missing, balance after the call}.
local cost = tonumber(ARGV[1])
local seed = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
if seed < 0 then
  if redis.call('EXISTS', KEYS[1]) == 0 then
    return {-1, 0}
  end
elseif ttl > 0 then
  redis.call('SET', KEYS[1], seed, 'PX', ttl, 'NX')
else
  redis.call('SET', KEYS[1], seed, 'NX')
end
local balance = tonumber(redis.call('GET', KEYS[1]))
if cost > balance then
  return {0, balance}
end
if cost > 0 then
  balance = redis.call('DECRBY', KEYS[1], cost)
end
return {1, balance}
