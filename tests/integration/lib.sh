# lib.sh: harness for the integration scenarios in tests/integration/.
# Sourced (". lib.sh") by each test_*.sh; POSIX sh, works with dash and bash.
#
# Every scenario is black-box: it makes its own network namespace, starts
# netstackd on a TAP device (nst0) inside it and drives real programs from
# the kernel's side of that TAP.  Addresses are 10.200.N.0/24 and exist only
# inside the namespace.  Whatever happens, the EXIT trap stops the processes
# this script started (by PID, never by name), deletes its namespaces and
# its temporary directory, and prints the daemon's log when the test failed.
#
# Exit codes follow the automake test driver: 0 pass, 1 fail, 77 skip.
#
# Binaries: $NETSTACKD / $NETSTACKCTL if set, else $abs_top_builddir/netstackd
# and $abs_top_builddir/netstackctl (the Makefile exports abs_top_builddir
# and abs_top_srcdir through AM_TESTS_ENVIRONMENT).  The scripts themselves
# and the Python helpers live in the source directory, next to this file.

# ---- results ----------------------------------------------------------------

# fail MSG...: report a failure and exit 1 (the EXIT trap cleans up).  Only
# call it from the test's own shell, not from inside $(...).
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# skip MSG...: the environment cannot run this test; exit 77.
skip() {
	echo "SKIP: $*" >&2
	exit 77
}

# pass: the scenario succeeded.
pass() {
	echo "PASS: ${0##*/}"
	exit 0
}

# info MSG...: a progress line in the test's .log.
info() {
	echo "-- $*"
}

# ---- locations --------------------------------------------------------------

IT_SRCDIR=$(cd "$(dirname "$0")" && pwd)
if [ -z "${abs_top_srcdir:-}" ]; then
	abs_top_srcdir=$(cd "$IT_SRCDIR/../.." && pwd)
fi
if [ -z "${abs_top_builddir:-}" ]; then
	abs_top_builddir=$abs_top_srcdir
fi
NETSTACKD=${NETSTACKD:-$abs_top_builddir/netstackd}
NETSTACKCTL=${NETSTACKCTL:-$abs_top_builddir/netstackctl}
PYTHON=${PYTHON:-python3}

# ---- state (read by cleanup) -----------------------------------------------

IT_TMP=
IT_NS_LIST=
IT_BG_PIDS=
DAEMON_PID=
DAEMON_STATUS=
DAEMON_LOG=
STOP_MS=

# now_ms: monotonic enough wall-clock milliseconds (GNU date).
now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# pid_alive PID: true while PID exists and is not a zombie.
pid_alive() {
	[ -r "/proc/$1/stat" ] || return 1
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$st" ] && [ "$st" != Z ]
}

daemon_alive() {
	[ -n "$DAEMON_PID" ] && pid_alive "$DAEMON_PID"
}

# bg_track PID: remember a background helper so cleanup stops it.
bg_track() {
	IT_BG_PIDS="$IT_BG_PIDS $1"
}

# bg_wait PID SECONDS: wait (bounded) for a tracked helper to exit and
# return its exit status; 124 if it is still running afterwards (it is then
# killed).
bg_wait() {
	_p=$1
	_deadline=$(($(now_ms) + $2 * 1000))
	while pid_alive "$_p" && [ "$(now_ms)" -lt "$_deadline" ]; do
		sleep 0.05
	done
	if pid_alive "$_p"; then
		# TERM first: a `timeout` wrapper passes it on to its program,
		# which SIGKILL of the wrapper would orphan.
		kill -TERM "$_p" 2>/dev/null
		_i=0
		while pid_alive "$_p" && [ $_i -lt 20 ]; do
			sleep 0.05
			_i=$((_i + 1))
		done
		kill -KILL "$_p" 2>/dev/null
		wait "$_p" 2>/dev/null
		_st=124
	else
		wait "$_p"
		_st=$?
	fi
	# Forget it: once reaped, its PID may be reused by someone else.
	_keep=
	for _q in $IT_BG_PIDS; do
		[ "$_q" = "$_p" ] || _keep="$_keep $_q"
	done
	IT_BG_PIDS=$_keep
	return $_st
}

print_logs() {
	for _f in "$IT_TMP"/netstackd.log.*; do
		[ -f "$_f" ] || continue
		echo "==== earlier daemon log ${_f##*/} ===="
		cat "$_f"
	done
	if [ -n "$DAEMON_LOG" ] && [ -f "$DAEMON_LOG" ]; then
		echo "==== daemon log ($DAEMON_LOG) ===="
		cat "$DAEMON_LOG"
		echo "==== end of daemon log ===="
	fi
}

cleanup() {
	_rc=$?
	trap - EXIT INT TERM HUP
	if [ -n "$DAEMON_PID" ]; then
		if pid_alive "$DAEMON_PID"; then
			kill -TERM "$DAEMON_PID" 2>/dev/null
			_i=0
			while pid_alive "$DAEMON_PID" && [ $_i -lt 40 ]; do
				sleep 0.05
				_i=$((_i + 1))
			done
			pid_alive "$DAEMON_PID" && kill -KILL "$DAEMON_PID" 2>/dev/null
		fi
		wait "$DAEMON_PID" 2>/dev/null
		DAEMON_PID=
	fi
	# TERM, a moment, then KILL (see bg_wait); deleting the namespace
	# afterwards leaves nothing of ours running in it.
	for _p in $IT_BG_PIDS; do
		pid_alive "$_p" && kill -TERM "$_p" 2>/dev/null
	done
	for _p in $IT_BG_PIDS; do
		_i=0
		while pid_alive "$_p" && [ $_i -lt 20 ]; do
			sleep 0.05
			_i=$((_i + 1))
		done
		pid_alive "$_p" && kill -KILL "$_p" 2>/dev/null
		wait "$_p" 2>/dev/null
	done
	if [ "$_rc" -ne 0 ] && [ "$_rc" -ne 77 ]; then
		print_logs >&2
	fi
	for _ns in $IT_NS_LIST; do
		ip netns del "$_ns" 2>/dev/null
	done
	if [ -n "$IT_TMP" ] && [ -d "$IT_TMP" ]; then
		rm -rf "$IT_TMP"
	fi
	exit "$_rc"
}

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ---- requirements -----------------------------------------------------------

# require_cmd CMD...: skip unless every command exists.
require_cmd() {
	for _c in "$@"; do
		command -v "$_c" >/dev/null 2>&1 || skip "'$_c' not found"
	done
}

# require_binaries: netstackd and netstackctl must have been built.  Their
# absence is a broken build, not an environment to skip.
require_binaries() {
	[ -x "$NETSTACKD" ] || fail "netstackd not found at $NETSTACKD (set NETSTACKD or abs_top_builddir)"
	[ -x "$NETSTACKCTL" ] || fail "netstackctl not found at $NETSTACKCTL (set NETSTACKCTL or abs_top_builddir)"
}

# require_root_tun: skip unless we are root with /dev/net/tun and ip(8).
require_root_tun() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces and TAP devices)"
	[ -c /dev/net/tun ] || skip "needs /dev/net/tun"
	require_cmd ip "$PYTHON"
	require_binaries
}

# ---- temporary directory and namespaces ------------------------------------

# make_tmpdir: a private directory, $IT_TMP, removed by cleanup.
make_tmpdir() {
	[ -n "$IT_TMP" ] && return 0
	IT_TMP=$(mktemp -d "${TMPDIR:-/tmp}/netstack-it.XXXXXX") || fail "mktemp -d failed"
}

# make_netns VAR: create a namespace with a unique name (the test's PID is
# part of it), bring its lo up and store its name in VAR.  Skips when the
# kernel or container does not allow namespaces.
IT_NS_SEQ=0
make_netns() {
	IT_NS_SEQ=$((IT_NS_SEQ + 1))
	_name="nst-$$-$IT_NS_SEQ"
	if ! ip netns add "$_name" 2>"$IT_TMP/netns.err"; then
		skip "cannot create a network namespace: $(cat "$IT_TMP/netns.err")"
	fi
	IT_NS_LIST="$IT_NS_LIST $_name"
	ip netns exec "$_name" ip link set lo up || fail "cannot bring lo up in $_name"
	eval "$1=\$_name"
}

# setup: the usual start of a scenario.  Sets
#   IT_TMP      private directory
#   NS          the test's namespace
#   SUBNET      N of 10.200.N.0/24 (derived from the PID; the namespace
#               keeps it private anyway)
#   STACK_ADDR  10.200.N.2 (netstackd), HOST_ADDR 10.200.N.1 (kernel side)
#   TAP         nst0, CTL_SOCK the control socket
setup() {
	require_root_tun
	make_tmpdir
	make_netns NS
	SUBNET=$(($$ % 200 + 20))
	STACK_ADDR=10.200.$SUBNET.2
	HOST_ADDR=10.200.$SUBNET.1
	TAP=nst0
	CTL_SOCK=$IT_TMP/ctl.sock
	DAEMON_LOG=$IT_TMP/netstackd.log
}

# in_ns CMD...: run CMD in the test's namespace.
in_ns() {
	ip netns exec "$NS" "$@"
}

# ---- the daemon -------------------------------------------------------------

IT_START_SEQ=0

# start_daemon [ARGS...]: start netstackd in $NS on $TAP with the test's
# addresses and control socket, plus ARGS, in the background.  Returns once
# `netstackctl link` answers (at most 10 s); fails, printing the log, if the
# daemon exits or does not answer in time.  Environment variables set by
# the caller (NOTIFY_SOCKET, ...) reach the daemon.
# shellcheck disable=SC2120 # the extra arguments are optional
start_daemon() {
	start_daemon_args --tap "$TAP" --addr "$STACK_ADDR/24" --host-addr "$HOST_ADDR/24" "$@"
}

# start_daemon_args ARGS...: like start_daemon, but netstackd gets only the
# test's control socket and ARGS (for example -c FILE with several
# interfaces).
start_daemon_args() {
	[ -z "$DAEMON_PID" ] || fail "start_daemon: a daemon is already running (PID $DAEMON_PID)"
	if [ -f "$DAEMON_LOG" ]; then
		IT_START_SEQ=$((IT_START_SEQ + 1))
		mv "$DAEMON_LOG" "$IT_TMP/netstackd.log.$IT_START_SEQ"
	fi
	rm -f "$CTL_SOCK"
	ip netns exec "$NS" "$NETSTACKD" -f --socket "$CTL_SOCK" "$@" >"$DAEMON_LOG" 2>&1 &
	DAEMON_PID=$!
	DAEMON_STATUS=
	_deadline=$(($(now_ms) + 10000))
	_i=0
	while [ $_i -lt 200 ]; do
		if ! daemon_alive; then
			wait "$DAEMON_PID"
			DAEMON_STATUS=$?
			DAEMON_PID=
			fail "netstackd exited with status $DAEMON_STATUS during start-up"
		fi
		if ctl link >/dev/null 2>&1; then
			info "netstackd PID $DAEMON_PID answers on $CTL_SOCK"
			return 0
		fi
		[ "$(now_ms)" -lt "$_deadline" ] || break
		sleep 0.05
		_i=$((_i + 1))
	done
	fail "netstackd (PID $DAEMON_PID) did not answer 'netstackctl link' within 10 s"
}

# tap_to_netns TAP NETNS ADDR/N: move the kernel's side of netstackd's TAP
# from $NS into the namespace NETNS (made with make_netns), give it ADDR/N
# and bring it up there.  netstackd keeps its queue descriptors: a TAP's
# frames flow between the descriptor and the link wherever the link lives,
# so one netstackd can face hosts in several namespaces, as a router.
tap_to_netns() {
	ip -n "$NS" link set dev "$1" netns "$2" || fail "cannot move $1 to namespace $2"
	ip -n "$2" addr add "$3" dev "$1" || fail "cannot give $1 the address $3 in $2"
	ip -n "$2" link set dev "$1" up || fail "cannot bring $1 up in $2"
}

# check_sanitizers: fail if a sanitizer reported anything in the daemon's log.
check_sanitizers() {
	if grep -E 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|ThreadSanitizer' \
		"$DAEMON_LOG" >/dev/null 2>&1; then
		fail "sanitizer report in $DAEMON_LOG"
	fi
}

# stop_daemon [SIGNAL]: send SIGNAL (default TERM), wait at most 5 s for the
# daemon to exit, then SIGKILL it and fail.  Fails unless the exit status is
# 0 and the log holds no sanitizer report.  Sets STOP_MS (milliseconds from
# the signal to the exit) and DAEMON_STATUS.
# shellcheck disable=SC2120 # the signal is optional
stop_daemon() {
	_sig=${1:-TERM}
	[ -n "$DAEMON_PID" ] || fail "stop_daemon: no daemon running"
	daemon_alive || {
		wait "$DAEMON_PID"
		DAEMON_STATUS=$?
		DAEMON_PID=
		fail "netstackd died before SIG$_sig (exit status $DAEMON_STATUS)"
	}
	_t0=$(now_ms)
	kill -s "$_sig" "$DAEMON_PID" || fail "cannot send SIG$_sig to $DAEMON_PID"
	_i=0
	while daemon_alive && [ $_i -lt 1000 ]; do
		[ $(($(now_ms) - _t0)) -lt 5000 ] || break
		sleep 0.005
		_i=$((_i + 1))
	done
	STOP_MS=$(($(now_ms) - _t0))
	if daemon_alive; then
		kill -KILL "$DAEMON_PID"
		wait "$DAEMON_PID"
		DAEMON_PID=
		fail "netstackd did not exit within 5 s of SIG$_sig (killed)"
	fi
	wait "$DAEMON_PID"
	DAEMON_STATUS=$?
	DAEMON_PID=
	info "netstackd exited with status $DAEMON_STATUS ${STOP_MS} ms after SIG$_sig"
	[ "$DAEMON_STATUS" -eq 0 ] || fail "netstackd exited with status $DAEMON_STATUS after SIG$_sig"
	check_sanitizers
}

# ctl ARGS...: netstackctl on the test's control socket.
ctl() {
	"$NETSTACKCTL" -s "$CTL_SOCK" "$@"
}

# ---- libnetstack.so under LD_PRELOAD ------------------------------------------

LIBNETSTACK=${LIBNETSTACK:-$abs_top_builddir/.libs/libnetstack.so}

# preload_value: LD_PRELOAD for libnetstack.so; an ASan-built library needs
# the ASan runtime loaded first in programs that are not built with it.
preload_value() {
	_rt=$(ldd "$LIBNETSTACK" 2>/dev/null | awk '/libasan|libtsan/ { print $3; exit }')
	if [ -n "$_rt" ]; then
		echo "$_rt $LIBNETSTACK"
	else
		echo "$LIBNETSTACK"
	fi
}

# A ThreadSanitizer-built library in someone else's threaded program (dig):
# races between that program's own threads are not ours to report.
TSAN_OPTIONS="suppressions=$(dirname "$0")/tsan-thirdparty.supp${TSAN_OPTIONS:+:$TSAN_OPTIONS}"
export TSAN_OPTIONS

# require_libnetstack: fail unless libnetstack.so was built; sets PRELOAD.
require_libnetstack() {
	[ -f "$LIBNETSTACK" ] || fail "libnetstack.so not built at $LIBNETSTACK"
	PRELOAD=$(preload_value)
}

# run_preloaded CMD...: CMD in the test's namespace under LD_PRELOAD, its
# sockets served by the test's netstackd (call require_libnetstack first).
run_preloaded() {
	in_ns env NETSTACK_SOCKET="$CTL_SOCK" LD_PRELOAD="$PRELOAD" \
		ASAN_OPTIONS=detect_leaks=0 "$@"
}

# bg_in_ns CMD... / bg_preloaded CMD...: start CMD in the namespace (under
# LD_PRELOAD for the second) in the background and track it.  BG_PID is
# the program itself: "in_ns CMD &" would background a subshell whose PID
# cleanup can kill while the program lives on.  Redirections go around
# the call ("bg_in_ns prog >out 2>err").
bg_in_ns() {
	ip netns exec "$NS" "$@" &
	BG_PID=$!
	bg_track "$BG_PID"
}

bg_preloaded() {
	ip netns exec "$NS" env NETSTACK_SOCKET="$CTL_SOCK" LD_PRELOAD="$PRELOAD" \
		ASAN_OPTIONS=detect_leaks=0 "$@" &
	BG_PID=$!
	bg_track "$BG_PID"
}

# ---- the build ---------------------------------------------------------------

# make_in_build ARGS...: run make in $abs_top_builddir ($MAKE if set), not
# as part of the make that runs the tests: its MAKEFLAGS (jobserver, -j)
# would otherwise leak in.
make_in_build() {
	# shellcheck disable=SC2086 # $MAKE may carry arguments
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES \
		${MAKE:-make} --no-print-directory -C "$abs_top_builddir" "$@"
}

# make_var NAME: the fully expanded value of the Makefile variable NAME in
# the build tree (sbindir, sysconfdir, systemdsystemunitdir, ...), as make
# itself would use it.  Non-zero exit if make fails.
# -o Makefile: never regenerate the build system from here.
make_var() {
	# shellcheck disable=SC2016 # $(NAME) is for make, not the shell
	_mv=$(printf 'netstack-it-print-var:\n\t@echo "NETSTACK_IT_VAR=$(%s)"\n' "$1" |
		make_in_build -s -o Makefile -f Makefile -f - netstack-it-print-var) || return 1
	printf '%s\n' "$_mv" | sed -n 's/^NETSTACK_IT_VAR=//p' | grep . || return 1
}

# ---- JSON -------------------------------------------------------------------

# jget EXPR: read JSON from stdin as j and print the Python expression EXPR
# (strings and numbers bare, everything else as JSON).  Non-zero on error.
jget() {
	"$PYTHON" -c '
import json, sys
j = json.load(sys.stdin)
r = eval(sys.argv[1], {"j": j, "json": json})
if isinstance(r, (str, int, float)) and not isinstance(r, bool):
    print(r)
else:
    print(json.dumps(r))
' "$1"
}

# jcheck JSON EXPR MSG: fail with MSG (and the JSON) unless the Python
# expression EXPR on j (the parsed JSON) is true.
jcheck() {
	if ! printf '%s\n' "$1" | "$PYTHON" -c '
import json, sys
j = json.load(sys.stdin)
sys.exit(0 if eval(sys.argv[1], {"j": j}) else 1)
' "$2"; then
		fail "$3 ($2 is false for: $1)"
	fi
}

# ctl_json CMD: `netstackctl -j CMD`, failing if it fails or is not JSON.
# Usage: v=$(ctl_json link) || fail ...
ctl_json() {
	_out=$(ctl -j "$1") || return 1
	printf '%s\n' "$_out" | "$PYTHON" -c 'import json,sys; json.load(sys.stdin)' || return 1
	printf '%s\n' "$_out"
}
