/*
 * The rate limiter's Lua script (ratelimit.c), in a header of its own so that the integration
 * test (tests/integration/21_ratelimit.c) EVALs the very text the gateway loads, against the
 * real Redis, with the table of cases the unit test runs against gw_gcra_step.
 *
 * KEYS[1]: the key; KEYS[2] (optional): a denylist key; ARGV[1]: period in us; ARGV[2]: burst;
 * ARGV[3] (tests only, the gateway never sends it): now in us instead of Redis's TIME, so that
 * the table's exact edges can be run. Returns {-1, 0, 0} when KEYS[2] exists, else {allowed,
 * the stored TAT (0 when none), now}, from which gw_gcra_step derives the header values with
 * the same formula. The TAT is written with %d: tostring would round its 16 digits.
 */
#ifndef STRATA_GATEWAY_RATELIMIT_LUA_H
#define STRATA_GATEWAY_RATELIMIT_LUA_H

#define GW_RATELIMIT_LUA                                                                           \
	"if KEYS[2] and redis.call('EXISTS', KEYS[2]) == 1 then\n"                                 \
	"  return {-1, 0, 0}\n"                                                                    \
	"end\n"                                                                                    \
	"local now = tonumber(ARGV[3])\n"                                                          \
	"if not now then\n"                                                                        \
	"  local t = redis.call('TIME')\n"                                                         \
	"  now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"                                      \
	"end\n"                                                                                    \
	"local period = tonumber(ARGV[1])\n"                                                       \
	"local window = period * tonumber(ARGV[2])\n"                                              \
	"local stored = tonumber(redis.call('GET', KEYS[1])) or 0\n"                               \
	"local tat = stored\n"                                                                     \
	"if tat < now then tat = now end\n"                                                        \
	"if tat > now + window then tat = now + window end\n"                                      \
	"local new_tat = tat + period\n"                                                           \
	"if now < new_tat - window then return {0, stored, now} end\n"                             \
	"redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX',\n"                         \
	"           math.ceil((new_tat - now) / 1000) + 1)\n"                                      \
	"return {1, stored, now}\n"

#endif
