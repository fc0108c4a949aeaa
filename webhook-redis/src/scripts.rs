//! The Lua scripts that make each store operation one atomic step on the server.
//!
//! A key's value says its state: `p:<32 hex digits>` is a claim in progress (the
//! digits are the claim's token) with the lease as the key's expiry; `d` is a
//! completed event with the ttl as expiry. `SET … NX PX` takes a free key; the
//! scripts read the state in the same step when it is taken, and check the token
//! before completing or releasing, so one replica can never finish another's claim.
//! A value of any other form means something else writes under the key prefix.

use redis::Script;

/// Claims every key in `KEYS`. `ARGV[1]`: the lease in milliseconds; `ARGV[i + 1]`:
/// the in-progress value for `KEYS[i]`. Returns, per key, a pair: `0, 0` claimed;
/// `1, pttl` held by another claim (its remaining lease in ms, negative if unknown);
/// `2, 0` done; `3, 0` a value this library did not write.
pub(crate) const CLAIM: &str = r"
local out = {}
for i, key in ipairs(KEYS) do
  if redis.call('SET', key, ARGV[i + 1], 'NX', 'PX', ARGV[1]) then
    out[#out + 1] = 0
    out[#out + 1] = 0
  else
    local held = redis.call('GET', key)
    if held == 'd' then
      out[#out + 1] = 2
      out[#out + 1] = 0
    elseif held and string.sub(held, 1, 2) == 'p:' then
      out[#out + 1] = 1
      out[#out + 1] = redis.call('PTTL', key)
    else
      out[#out + 1] = 3
      out[#out + 1] = 0
    end
  end
end
return out
";

/// Completes `KEYS[1]` if `ARGV[1]` (the claim's in-progress value) still holds it,
/// or if nothing does (the lease ran out and nobody claimed it since): sets `d` with
/// `ARGV[2]` ms expiry. Returns 1 done, 0 another claim holds or completed it, -1 a
/// value this library did not write.
pub(crate) const COMPLETE: &str = r"
local held = redis.call('GET', KEYS[1])
if held == ARGV[1] or not held then
  redis.call('SET', KEYS[1], 'd', 'PX', ARGV[2])
  return 1
end
if held == 'd' or string.sub(held, 1, 2) == 'p:' then
  return 0
end
return -1
";

/// Releases `KEYS[1]` if `ARGV[1]` still holds it. Returns 1 released (or nothing to
/// release), 0 another claim holds or completed it, -1 a value this library did not
/// write.
pub(crate) const RELEASE: &str = r"
local held = redis.call('GET', KEYS[1])
if held == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
if not held then
  return 1
end
if held == 'd' or string.sub(held, 1, 2) == 'p:' then
  return 0
end
return -1
";

/// Renews `KEYS[1]` if `ARGV[1]` (the claim's in-progress value) still holds it:
/// its expiry becomes `ARGV[2]` ms from now unless it already runs longer. Returns 1
/// renewed, 0 the claim is gone (expired, released, completed or taken over: a lost
/// lease is never revived), -1 a value this library did not write.
pub(crate) const RENEW: &str = r"
local held = redis.call('GET', KEYS[1])
if held == ARGV[1] then
  if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
  end
  return 1
end
if not held or held == 'd' or string.sub(held, 1, 2) == 'p:' then
  return 0
end
return -1
";

/// The four scripts, hashed once (they run by `EVALSHA`, loaded on first use).
#[derive(Debug)]
pub(crate) struct Scripts {
    pub(crate) claim: Script,
    pub(crate) complete: Script,
    pub(crate) release: Script,
    pub(crate) renew: Script,
}

impl Scripts {
    pub(crate) fn new() -> Self {
        Self {
            claim: Script::new(CLAIM),
            complete: Script::new(COMPLETE),
            release: Script::new(RELEASE),
            renew: Script::new(RENEW),
        }
    }
}
