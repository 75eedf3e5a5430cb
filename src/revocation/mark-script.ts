/**
 * Writes one mark and publishes its event in one atomic step, so no replica can
 * miss a revocation that was acknowledged. Modes: `nx` (only when absent; the
 * return says whether it was new), `set` (write, keeping the longer TTL) and
 * `max` (keep the later "revoked before" time and the longer TTL).
 * KEYS[1] mark; ARGV mode, value, ttl seconds, channel, event.
 */
export const MARK_SCRIPT = `
local key, mode, value, ttl = KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3])
local current = redis.call('GET', key)
if current then
  if mode == 'nx' then return 0 end
  if mode == 'max' and tonumber(current) >= tonumber(value) then
    redis.call('EXPIRE', key, ttl, 'GT')
    return 0
  end
  ttl = math.max(ttl, redis.call('TTL', key))
end
redis.call('SET', key, value, 'EX', ttl)
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
`
