#!/bin/sh
# redis-server under LD_PRELOAD passes redis-benchmark -n 100000 -q from the
# kernel side; redis-cli under LD_PRELOAD works against a kernel-side redis.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tcp_lib.sh"

setup
require_cmd redis-server redis-benchmark redis-cli timeout
require_libnetstack
start_daemon

N=${TCP_REDIS_N:-100000}
tsan_runtime && N=${TCP_REDIS_N:-5000}
info "redis-server on the stack, redis-benchmark -n $N from the kernel"
bg_preloaded redis-server --port 6379 --bind 0.0.0.0 --save "" --appendonly no \
	--protected-mode no --daemonize no --dir "$IT_TMP" --logfile "$IT_TMP/redis.log"
rs=$BG_PID
wait_stack_listen 6379
in_ns timeout 300 redis-benchmark -h "$STACK_ADDR" -p 6379 -n "$N" -q >"$IT_TMP/bench.out" 2>&1 ||
	{ cat "$IT_TMP/bench.out"; fail "redis-benchmark failed"; }
cat "$IT_TMP/bench.out"
grep -qi "error" "$IT_TMP/bench.out" && fail "redis-benchmark reported errors"
grep -q "requests per second" "$IT_TMP/bench.out" || fail "redis-benchmark printed no results"
kill "$rs" 2>/dev/null
bg_wait "$rs" 5 || true

info "redis-cli on the stack against redis-server on the kernel"
bg_in_ns redis-server --port 6380 --bind "$HOST_ADDR" --save "" --appendonly no \
	--protected-mode no --daemonize no --dir "$IT_TMP" --logfile "$IT_TMP/redis2.log"
rk=$BG_PID
wait_tcp_listen "$HOST_ADDR" 6380
out=$(run_preloaded timeout 10 redis-cli -h "$HOST_ADDR" -p 6380 set netstack works) ||
	fail "redis-cli set failed"
[ "$out" = "OK" ] || fail "redis-cli set answered '$out'"
out=$(run_preloaded timeout 10 redis-cli -h "$HOST_ADDR" -p 6380 get netstack) ||
	fail "redis-cli get failed"
[ "$out" = "works" ] || fail "redis-cli get answered '$out'"
kill "$rk" 2>/dev/null
bg_wait "$rk" 5 || true
pass
