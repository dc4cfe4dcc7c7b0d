#!/bin/sh
# test_badconfig: configuration errors are reported in one line on stderr
# that names the file, the line and the problem, with a non-zero exit:
#   (a) an unknown key              -> exit 2, "FILE:LINE: unknown key ..."
#   (b) a bad address               -> exit 2, "FILE:LINE: bad address ..."
#   (c) a TAP the daemon may not open (run as nobody without
#       capabilities, and as root without CAP_NET_ADMIN)
#                                   -> exit 1, "FILE:LINE: cannot open TAP
#                                      ...: Operation not permitted (...
#                                      CAP_NET_ADMIN ...)", LINE being the
#                                      [interface] header
#   (d) the shipped etc/netstackd.conf passes `netstackd -t`.
# Everything that could start a daemon runs in a private namespace, under
# timeout(1), with the control socket in the test's directory.
. "$(dirname "$0")/lib.sh"

setup
require_cmd timeout setpriv

# run_daemon NAME CMD...: run CMD (bounded to 10 s) with stdout and stderr
# to $IT_TMP/NAME.out and NAME.err; sets RC.
run_daemon() {
	_name=$1
	shift
	timeout -k 2 10 "$@" >"$IT_TMP/$_name.out" 2>"$IT_TMP/$_name.err"
	RC=$?
	echo "[$_name] exit $RC; stderr:"
	cat "$IT_TMP/$_name.err"
}

# expect_one_line NAME STATUS REGEX: the run exited with STATUS and its
# stderr is exactly one line matching the extended REGEX.
expect_one_line() {
	if [ "$RC" -eq 124 ] || [ "$RC" -eq 137 ]; then
		fail "$1: still running after 10 s (killed)"
	fi
	[ "$RC" -eq "$2" ] || fail "$1: exit status $RC, expected $2"
	_lines=$(wc -l <"$IT_TMP/$1.err")
	[ "$_lines" -eq 1 ] || fail "$1: stderr has $_lines lines, expected exactly 1"
	grep -Eq "$3" "$IT_TMP/$1.err" || fail "$1: stderr does not match /$3/"
}

# base_conf: a valid configuration on stdout ([interface] at line 5).
base_conf() {
	cat <<CONF
# netstackd.conf written by test_badconfig.sh
[daemon]
workers = 1
socket = $IT_TMP/ctl.sock
[interface $TAP]
type = tap
address = $STACK_ADDR/24
host_address = $HOST_ADDR/24
CONF
}

# (a) unknown key, line 4 of the [daemon] section.
conf=$IT_TMP/unknown-key.conf
{
	echo "# line 1"
	echo "[daemon]"
	echo "workers = 1"
	echo "frobnicate = yes"
	echo "socket = $IT_TMP/ctl.sock"
	echo "[interface $TAP]"
	echo "address = $STACK_ADDR/24"
} >"$conf"
run_daemon unknown-key-t "$NETSTACKD" -t -c "$conf"
expect_one_line unknown-key-t 2 "^netstackd: $conf:4: .*unknown key 'frobnicate'"
run_daemon unknown-key ip netns exec "$NS" "$NETSTACKD" -f -c "$conf"
expect_one_line unknown-key 2 "^netstackd: $conf:4: .*unknown key 'frobnicate'"

# (b) bad address, line 7 in the [interface] section.
conf=$IT_TMP/bad-address.conf
{
	echo "# line 1"
	echo "[daemon]"
	echo "socket = $IT_TMP/ctl.sock"
	echo ""
	echo "[interface $TAP]"
	echo "type = tap"
	echo "address = 10.200.$SUBNET.300/24"
	echo "host_address = $HOST_ADDR/24"
} >"$conf"
run_daemon bad-address-t "$NETSTACKD" -t -c "$conf"
expect_one_line bad-address-t 2 "^netstackd: $conf:7: .*bad address '10\.200\.$SUBNET\.300/24'"
run_daemon bad-address ip netns exec "$NS" "$NETSTACKD" -f -c "$conf"
expect_one_line bad-address 2 "^netstackd: $conf:7: .*bad address '10\.200\.$SUBNET\.300/24'"
in_ns ip link show "$TAP" >/dev/null 2>&1 && fail "a TAP was created despite the bad configuration"

# (c) a valid configuration, but run by nobody without capabilities: the
# TAP cannot be created.  The file and the binary must be reachable for
# uid 65534.
conf=$IT_TMP/valid.conf
base_conf >"$conf"
chmod 755 "$IT_TMP"
chmod 644 "$conf"
run_daemon valid-t "$NETSTACKD" -t -c "$conf"
[ "$RC" -eq 0 ] || fail "the valid configuration does not pass -t"
NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all"
daemon_bin=$NETSTACKD
# shellcheck disable=SC2086
if ! $NOBODY test -x "$daemon_bin"; then
	# The build directory is not reachable for nobody: use a copy.
	head -c 4 "$daemon_bin" | grep -q ELF || skip "$daemon_bin is not reachable for uid 65534 and is not an ELF file to copy"
	cp "$daemon_bin" "$IT_TMP/netstackd"
	chmod 755 "$IT_TMP/netstackd"
	daemon_bin=$IT_TMP/netstackd
fi
# shellcheck disable=SC2086
$NOBODY test -r "$conf" || fail "setup: $conf not readable for uid 65534"
# /dev/net/tun is often 0666 (TUNSETIFF then fails with EPERM), sometimes
# 0600 (open fails with EACCES); the message must say why either way.
tap_denied="^netstackd: $conf:5: cannot open TAP $TAP: (Operation not permitted|Permission denied) \\(netstackd needs CAP_NET_ADMIN"
# shellcheck disable=SC2086 # $NOBODY is a command with arguments
run_daemon nobody ip netns exec "$NS" $NOBODY "$daemon_bin" -f -c "$conf"
expect_one_line nobody 1 "$tap_denied"
in_ns ip link show "$TAP" >/dev/null 2>&1 && fail "a TAP appeared although netstackd could not open it"

# (c') root, but without CAP_NET_ADMIN: /dev/net/tun opens, creating the
# device is refused with EPERM.
run_daemon no-net-admin ip netns exec "$NS" setpriv --inh-caps=-net_admin \
	--bounding-set=-net_admin "$NETSTACKD" -f -c "$conf"
expect_one_line no-net-admin 1 "^netstackd: $conf:5: cannot open TAP $TAP: Operation not permitted \\(netstackd needs CAP_NET_ADMIN"
in_ns ip link show "$TAP" >/dev/null 2>&1 && fail "a TAP appeared although netstackd could not open it"

# (d) the example shipped in etc/ is valid as written.
shipped=$abs_top_srcdir/etc/netstackd.conf
[ -r "$shipped" ] || fail "missing $shipped"
run_daemon shipped "$NETSTACKD" -t -c "$shipped"
[ "$RC" -eq 0 ] || fail "netstackd -t -c $shipped: exit $RC"
[ ! -s "$IT_TMP/shipped.err" ] || fail "netstackd -t -c $shipped wrote to stderr"
cat "$IT_TMP/shipped.out"
grep -q 'ok' "$IT_TMP/shipped.out" || fail "netstackd -t -c $shipped did not say ok"
pass
