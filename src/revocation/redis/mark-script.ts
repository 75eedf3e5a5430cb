/**
 * Appends one revocation to the log, trimmed by age only (XADD ... MINID ~):
 * entries written more than retentionMs ago belong to marks that have expired.
 * The log key itself expires retentionMs after the last write.
 * Fields (see log-entry.ts): f format version, s issuer, k kind, i id,
 * v "revoked before" (user and global), e expiry (seconds), and o origin
 * when there is one (revocation-origin.ts).
 */
const APPEND = `
local function append(log, format, issuer, kind, id, before, expires, retention, origin)
  local t = redis.call('TIME')
  local minid = math.max(0, tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - tonumber(retention))
  local fields = {'f', format, 's', issuer, 'k', kind, 'i', id, 'v', before, 'e', expires}
  if origin ~= '' then
    fields[#fields + 1] = 'o'
    fields[#fields + 1] = origin
  end
  local entry = redis.call('XADD', log, 'MINID', '~', minid, '*', unpack(fields))
  -- A log idle for longer than the longest mark holds nothing live: it expires like the marks.
  redis.call('PEXPIRE', log, retention)
  return entry
end
-- The load index (see load-index.ts): a bucket lives at least as long as its latest mark.
local function index(bucket, record, expireat)
  redis.call('APPEND', bucket, record)
  local at = tonumber(expireat)
  if redis.call('TTL', bucket) < at - tonumber(redis.call('TIME')[1]) then redis.call('EXPIREAT', bucket, at) end
end
`

/**
 * Writes one mark, its log entry and its load-index record in one atomic step
 * (standalone and Sentinel: the keys live on one node), so no replica can
 * miss a revocation that was acknowledged. Modes: `nx` (only when absent; the return
 * says whether it was new), `set` (write, keeping the longer TTL) and `max`
 * (keep the later "revoked before" time and the longer TTL). Without KEYS[2]
 * (Cluster: the log and the index live in other slots) only the mark is written.
 * KEYS[1] mark, KEYS[2] log, KEYS[3] index bucket; ARGV mode, value, ttl seconds,
 * format, issuer, kind, id, before, expires, retention ms, origin, index record, bucket expiry.
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
if KEYS[2] then
  append(KEYS[2], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11])
  index(KEYS[3], ARGV[12], ARGV[13])
end
return fresh
`

/**
 * Cluster: the log entry alone, written before the index record and the mark
 * (see docs/scaling.md "Key layout"). The entry is also made pending in the
 * log's consumer group ARGV[8] (XCLAIM ... FORCE: no new key, so the same
 * slot) until the writer acknowledges it, which it does once the mark is
 * stored (XACK, batched into its next log write); an entry left pending
 * because its writer died is rolled forward by any replica (see
 * log-recovery.ts). KEYS[1] log; ARGV format, issuer, kind, id, before,
 * expires, retention ms, origin, group, ids to acknowledge. Returns the entry's id.
 */
export const LOG_SCRIPT = APPEND + `
local log, group = KEYS[1], ARGV[9]
local entry = append(log, ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8])
local claimed = redis.pcall('XCLAIM', log, group, 'writer', 0, entry, 'FORCE', 'JUSTID')
if type(claimed) == 'table' and claimed.err then
  redis.call('XGROUP', 'CREATE', log, group, '$')
  redis.call('XCLAIM', log, group, 'writer', 0, entry, 'FORCE', 'JUSTID')
end
if #ARGV > 9 then redis.call('XACK', log, group, unpack(ARGV, 10)) end
return entry
`

/** Cluster: the index record alone, written after the log entry and before the mark. KEYS[1] bucket; ARGV record, bucket expiry. */
export const INDEX_SCRIPT = APPEND + `
index(KEYS[1], ARGV[1], ARGV[2])
return 1
`
