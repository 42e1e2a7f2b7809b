-- Takes a lease of up to ARGV[1] requests from a plan's (or client IP's) counters, atomically, on the
-- Redis server's clock so node clocks do not matter. Redis 6.2 compatible (no FUNCTION, no EXPIRE NX).
--
-- KEYS[1]  rate bucket (hash: t = tokens, ts = ms of last update); used when ARGV[3] > 0
-- KEYS[2]  quota counter of the current period; used when ARGV[5] > 0
-- KEYS[3]  generation of that quota counter: set anew whenever the counter is seeded, so that a lease taken from a
--          counter Redis has since lost (and that was seeded again from the usage ledger) is never given back into
--          the new one (give.lua)
-- ARGV     want (0 = only look), live nodes, rate tokens per ms, burst, quota limit, quota ttl ms, quota seed
--          (requests already used in the period, or -1: none known)
--
-- A lease never exceeds the caller's fair share (what is left / (2 x nodes), at least 1), so nodes
-- leasing at the same time cannot take it all, and close to the limit every node asks for 1 at a time.
-- Returns {granted, rate tokens left (-1: no rate limit), ms until the next token, quota left
-- (-1: no quota), ms until the bucket is full, refused by (0 none, 1 rate, 2 quota, 3 quota counter missing),
-- generation of the quota counter ('' when it has none)}. What a node leased and did not use it gives back with
-- give.lua when the lease lapses.
--
-- A missing quota counter is either a new period or a counter Redis lost (restart, eviction). Without a seed
-- nothing is taken and the caller learns (3) that it must count what the period used so far (from the usage
-- rollups) and call again with that seed; the first seed to arrive wins, later ones find the counter there.
local want = tonumber(ARGV[1])
local nodes = math.max(1, tonumber(ARGV[2]))
local rate = tonumber(ARGV[3])
local burst = tonumber(ARGV[4])
local qlimit = tonumber(ARGV[5])
local qttl = tonumber(ARGV[6])
local seed = tonumber(ARGV[7])
if qlimit > 0 then
  if seed < 0 then
    if redis.call('EXISTS', KEYS[2]) == 0 then
      return {0, -1, 0, -1, 0, 3, ''}
    end
  elseif redis.call('SET', KEYS[2], seed, 'PX', qttl, 'NX') then
    local s = redis.call('TIME')
    redis.call('SET', KEYS[3], s[1] .. '.' .. s[2], 'PX', qttl)
  end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local grant = want
local refused = 0
local tokens = -1
if rate > 0 then
  local b = redis.call('HMGET', KEYS[1], 't', 'ts')
  tokens = tonumber(b[1])
  local ts = tonumber(b[2])
  if tokens == nil or ts == nil then
    tokens = burst
    ts = now
  end
  tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
  if tokens < 1 then
    refused = 1
    grant = 0
  else
    grant = math.max(1, math.min(grant, math.floor(tokens / (2 * nodes))))
  end
end

local left = -1
if qlimit > 0 then
  local used = tonumber(redis.call('GET', KEYS[2]) or '0')
  left = qlimit - used
  if left < 1 then
    refused = 2
    grant = 0
  else
    grant = math.min(grant, math.max(1, math.floor(left / (2 * nodes))))
  end
end

if want == 0 then
  grant = 0
end
if grant > 0 then
  if qlimit > 0 then
    left = qlimit - redis.call('INCRBY', KEYS[2], grant)
    redis.call('PEXPIRE', KEYS[2], qttl)
    redis.call('PEXPIRE', KEYS[3], qttl)
  end
  if rate > 0 then
    tokens = tokens - grant
  end
end
local wait = 0
local full = 0
if rate > 0 then
  redis.call('HSET', KEYS[1], 't', tostring(tokens), 'ts', tostring(now))
  redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate) + 1000)
  if tokens < 1 then
    wait = math.ceil((1 - tokens) / rate)
  end
  full = math.ceil((burst - tokens) / rate)
end
local generation = ''
if qlimit > 0 then
  generation = redis.call('GET', KEYS[3]) or ''
end
return {grant, math.floor(tokens), wait, left, full, refused, generation}
