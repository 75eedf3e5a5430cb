/**
 * Appends one revocation to the log, trimmed by age only (XADD ... MINID ~):
 * entries written more than retentionMs ago belong to marks that have expired.
 * The log key itself expires retentionMs after the last write.
 * Fields: k kind, i id, v "revoked before" (user and global), e expiry
 * (seconds). Room for later fields (an `iss`) without touching old entries.
 */
const APPEND = `
local function append(log, kind, id, before, expires, retention)
  local t = redis.call('TIME')
  local minid = math.max(0, tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - tonumber(retention))
  redis.call('XADD', log, 'MINID', '~', minid, '*', 'k', kind, 'i', id, 'v', before, 'e', expires)
  -- A log idle for longer than the longest mark holds nothing live: it expires like the marks.
  redis.call('PEXPIRE', log, retention)
end
`

/**
 * Writes one mark and appends its log entry in one atomic step (standalone and
 * Sentinel: the two keys live on one node), so no replica can miss a
 * revocation that was acknowledged. Modes: `nx` (only when absent; the return
 * says whether it was new), `set` (write, keeping the longer TTL) and `max`
 * (keep the later "revoked before" time and the longer TTL). Without KEYS[2]
 * (Cluster: the log lives in another slot) only the mark is written.
 * KEYS[1] mark, KEYS[2] log; ARGV mode, value, ttl seconds, kind, id, before, expires, retention ms.
 */
export const MARK_SCRIPT = APPEND + `
local key, mode, value, ttl = KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3])
local current = redis.call('GET', key)
local fresh = 1
if current then
  if mode == 'nx' then return 0 end
  if mode == 'max' and tonumber(current) >= tonumber(value) then
    fresh = 0
    redis.call('EXPIRE', key, ttl, 'GT')
  else
    ttl = math.max(ttl, redis.call('TTL', key))
  end
end
if fresh == 1 then redis.call('SET', key, value, 'EX', ttl) end
-- A kept mark whose lifetime grew is logged too: followers merge by max, as the script does.
if KEYS[2] then append(KEYS[2], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]) end
return fresh
`

/** Cluster: the log entry alone, written before the mark (see README "Key layout"). KEYS[1] log; ARGV kind, id, before, expires, retention ms. */
export const LOG_SCRIPT = APPEND + `
append(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
return 1
`

/**
 * One SCAN step of a full load, done inside Redis: the keys under the prefix
 * from this cursor, each with its value and remaining lifetime (ms), packed
 * in one JSON string (one bulk reply parses far faster than thousands of
 * elements). ARGV cursor, match, count.
 */
export const DUMP_SCRIPT = `
local step = redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', tonumber(ARGV[3]))
local out = {}
for _, key in ipairs(step[2]) do
  if redis.call('TYPE', key).ok == 'string' then
    out[#out + 1] = key
    out[#out + 1] = redis.call('GET', key)
    out[#out + 1] = redis.call('PTTL', key)
  end
end
return {step[1], cjson.encode(out)}
`
