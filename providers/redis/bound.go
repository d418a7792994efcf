package redisstore

import (
	"strconv"
	"time"
)

// boundScript keeps a tenant's entries within its bound (SPEC §10), run in
// the transaction that writes the entry. KEYS: the tenant's entries by
// stored time, then by expiry. ARGV: the entry's ID, stored time and expiry
// (Unix ms), now (Unix ms), the bound, the entry key prefix, the entry's
// remaining lifetime (ms). It forgets the tenant's expired entries, deletes
// its oldest ones past the bound, keeps both sets alive as long as their
// longest-lived member, and returns how many entries it deleted.
const boundScript = `
local id, now, bound, prefix, left = ARGV[1], ARGV[4], tonumber(ARGV[5]), ARGV[6], tonumber(ARGV[7])
redis.call('ZADD', KEYS[1], ARGV[2], id)
redis.call('ZADD', KEYS[2], ARGV[3], id)
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do
  redis.call('ZREM', KEYS[1], m)
  redis.call('ZREM', KEYS[2], m)
end
local evicted = 0
local over = redis.call('ZCARD', KEYS[1]) - bound
if over > 0 then
  for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, over - 1)) do
    redis.call('DEL', prefix .. m)
    redis.call('ZREM', KEYS[1], m)
    redis.call('ZREM', KEYS[2], m)
    evicted = evicted + 1
  end
end
for _, k in ipairs(KEYS) do
  if redis.call('PTTL', k) < left then
    redis.call('PEXPIRE', k, left)
  end
end
return evicted
`

// boundCommand is the EVAL that keeps the entry's tenant within
// Options.MaxEntriesPerScope.
func (s *Store) boundCommand(id, scope string, storedAt, expiresAt, now time.Time) []any {
	stored, expiry := s.l.scopeKeys(scope)
	return []any{
		"EVAL", boundScript, 2, stored, expiry,
		id, storedAt.UnixMilli(), expiresAt.UnixMilli(), now.UnixMilli(),
		s.opts.MaxEntriesPerScope, s.l.prefix, strconv.FormatInt(expiresAt.Sub(now).Milliseconds(), 10),
	}
}
