# tcp_lib.sh: helpers shared by the TCP scenarios (sourced after lib.sh).

# libnetstack.so claims stream sockets by default; say so explicitly anyway.
NETSTACK_TCP=1
export NETSTACK_TCP

# wait_tcp_listen ADDR PORT [SECS]: until a TCP connect to ADDR:PORT from
# the kernel side succeeds (the server under test is up).
wait_tcp_listen() {
	in_ns "$PYTHON" - "$1" "$2" "${3:-10}" <<'PY' || fail "nothing listens on $1:$2"
import socket, sys, time
addr, port, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
end = time.time() + secs
while time.time() < end:
    try:
        socket.create_connection((addr, port), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
PY
}

# wait_stack_listen PORT [SECS]: until netstackctl shows a TCP listener on PORT.
wait_stack_listen() {
	_i=0
	while [ $_i -lt $((${2:-10} * 10)) ]; do
		ctl ss -tl 2>/dev/null | grep -q ":$1 " && return 0
		sleep 0.1
		_i=$((_i + 1))
	done
	fail "no stack listener on port $1"
}

# make_file PATH MB: MB MiB of random bytes.
make_file() {
	head -c "$(($2 * 1048576))" /dev/urandom >"$1" || fail "cannot write $1"
}

sha() {
	sha256sum "$1" | cut -d' ' -f1
}

# counter GROUP NAME: a netstackctl stats value (0 if absent).
counter() {
	ctl stats | awk -v g="$1:" -v n="$2" '
		/^[A-Za-z]+:$/ { grp = $1; next }
		grp == g && $1 == n { print $2; f = 1; exit }
		END { if (!f) print 0 }'
}

# drop_count REASON: a netstackctl drops value (0 if absent).
drop_count() {
	ctl drops | awk -v r="$1" '$1 == r { print $2; f = 1 } END { if (!f) print 0 }'
}

# wait_kernel_listen PORT [SECS]: until a kernel socket in the namespace
# listens on PORT (without connecting: one-shot servers count connections).
wait_kernel_listen() {
	_i=0
	while [ $_i -lt $((${2:-10} * 10)) ]; do
		in_ns ss -Hltn "sport = :$1" 2>/dev/null | grep -q . && return 0
		sleep 0.1
		_i=$((_i + 1))
	done
	fail "nothing listens on kernel port $1"
}

# tsan_runtime: true when the preloaded library brings the ThreadSanitizer
# runtime (call after require_libnetstack).  Some programs cannot host it
# (curl hangs and python3 crashes before main under an uninstrumented
# binary), and TSan runs are about races, not volume, so the scenarios
# shrink their sizes and skip those programs there; the ASan and plain
# builds run everything.
tsan_runtime() {
	case ${PRELOAD:-} in
	*libtsan*) return 0 ;;
	esac
	return 1
}

# run_preloaded_nosanrt CMD...: like run_preloaded, but with libnetstack.so
# alone in LD_PRELOAD.  Under a preloaded ASan runtime curl hangs in
# glibc's setlocale lock before main (as dnsmasq does, see test_dns.sh), so
# the runtime loads as libnetstack.so's dependency instead, after libc,
# which ASan accepts with verify_asan_link_order=0; libnetstack.so's own
# code stays instrumented.
run_preloaded_nosanrt() {
	in_ns env NETSTACK_SOCKET="$CTL_SOCK" LD_PRELOAD="$LIBNETSTACK" \
		ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0 "$@"
}
