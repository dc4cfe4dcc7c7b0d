#!/bin/sh
# test_sigterm: netstackd shuts down in an orderly way on SIGTERM and on
# SIGINT: it exits within 1 s, with status 0, without sanitizer reports,
# and removes its TAP device.
. "$(dirname "$0")/lib.sh"

setup
require_cmd ping

for sig in TERM INT; do
	info "SIG$sig"
	start_daemon --workers 2
	# Some traffic first, so that shutdown has workers, skbs and
	# neighbour entries to tear down.
	in_ns ping -c 20 -i 0.01 -q -W 2 -w 5 "$STACK_ADDR" >/dev/null ||
		fail "no ping replies before SIG$sig"
	stop_daemon "$sig"
	[ "$STOP_MS" -le 1000 ] || fail "netstackd took $STOP_MS ms to exit after SIG$sig (limit 1000 ms)"
	grep -q "caught SIG$sig" "$DAEMON_LOG" || fail "the log does not mention SIG$sig"
	# The TAP was created by netstackd (it did not exist before), so it
	# goes away with the daemon's file descriptors.
	if in_ns ip link show "$TAP" >/dev/null 2>&1; then
		fail "$TAP still exists after netstackd exited"
	fi
	[ ! -e "$CTL_SOCK" ] || info "note: control socket $CTL_SOCK left behind"
done
pass
