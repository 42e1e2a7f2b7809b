-- Gives back what a node leased (take.lua) and did not use, once the lease lapsed: atomically, on the Redis
-- server's clock. Redis 6.2 compatible.
--
-- KEYS[1]  rate bucket (as in take.lua); used when ARGV[2] > 0
-- KEYS[2]  quota counter of the period the lease was taken in; used when ARGV[4] is not '-'
-- KEYS[3]  generation of that quota counter
-- ARGV     requests to give back, rate tokens per ms (0: no rate limit), burst, generation of the quota counter
--          the lease was taken from ('-': no quota)
--
-- A quota counter takes requests back only while it is the counter the lease came from: the same period (the key
-- names the period, so a lease of yesterday never goes into today's counter) and the same generation (a counter
-- Redis lost and that was seeded again from the usage ledger never counted this lease). It never goes below 0.
-- A rate bucket gets its tokens back up to its burst, as if they had never been taken; a bucket that expired is
-- full already. Returns {requests given back to the quota counter, tokens given back to the rate bucket}.
local n = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local generation = ARGV[4]

local quotaBack = 0
if generation ~= '-' then
  local used = tonumber(redis.call('GET', KEYS[2]) or '0')
  if used > 0 and (redis.call('GET', KEYS[3]) or '') == generation then
    quotaBack = math.min(n, used)
    redis.call('DECRBY', KEYS[2], quotaBack)
  end
end

local rateBack = 0
if rate > 0 then
  local b = redis.call('HMGET', KEYS[1], 't', 'ts')
  local tokens = tonumber(b[1])
  local ts = tonumber(b[2])
  if tokens ~= nil and ts ~= nil then
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
    local after = math.min(burst, tokens + n)
    rateBack = after - tokens
    redis.call('HSET', KEYS[1], 't', tostring(after), 'ts', tostring(now))
    redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate) + 1000)
  end
end
return {quotaBack, math.floor(rateBack)}
