#!/bin/sh
# test_ping_socket: ping(8) and a small program (icmp_sock) under
# LD_PRELOAD reach the kernel's side of the TAP through netstackd's raw and
# ICMP datagram ("ping") sockets.
#
# iputils ping asks for an ICMP datagram socket first and falls back to a
# raw socket on EACCES.  As root with net.ipv4.ping_group_range at its
# default "1 0" it therefore ends up with a raw socket; with the range
# covering its group it uses a ping socket; as nobody (no CAP_NET_RAW, with
# no_new_privs so that ping's file capability neither applies nor disables
# LD_PRELOAD) it needs the range and gets EPERM for raw sockets.
# netstackctl ss shows the sockets while they live, and an ICMP error from
# the kernel (net unreachable) reaches ping in both modes (raw: as a
# packet; ping socket: IP_RECVERR's error queue).
. "$(dirname "$0")/lib.sh"

setup
require_cmd ping setpriv
HELPER=$abs_top_builddir/tests/integration/icmp_sock
[ -x "$HELPER" ] || fail "icmp_sock not built at $HELPER"
require_libnetstack
nogroup=$(getent group nogroup | cut -d: -f3)
[ -n "$nogroup" ] || skip "no group nogroup"
start_daemon --gw "$HOST_ADDR"
# The unprivileged runs must reach the control socket.
chmod 0755 "$IT_TMP"
chmod 0666 "$CTL_SOCK"

out_echos() {
	ctl -j stats | jget 'j["Icmp"]["OutEchos"]'
}

# ping_ok OUT N: N replies in ping's summary.
ping_ok() {
	echo "$1" | grep -q "^$2 packets transmitted, $2 received"
}

# ss_sees PROTO: a background ping shows a PROTO socket in netstackctl ss
# while it runs (PING_PID is that ping).
ss_sees() {
	i=0
	while [ $i -lt 60 ] && pid_alive "$PING_PID"; do
		# -a: a ping or raw socket that is not connected is UNCONN.
		ss=$(ctl -j -a ss) || return 1
		if printf '%s\n' "$ss" | jget '[s for s in j if s["proto"] == "'"$1"'"]' |
			grep -q '"proto"'; then
			echo "ss: $ss"
			ctl -a ss
			return 0
		fi
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

# 1. Root, default range "1 0": the ping socket is refused (EACCES), ping
#    falls back to a raw socket, and it all goes through netstackd.
v=$(ctl sysctl net.ipv4.ping_group_range) || fail "netstackctl sysctl failed"
echo "$v"
echo "$v" | grep -q '= 1 0$' || fail "ping_group_range does not default to \"1 0\": $v"
e0=$(out_echos)
out=$(run_preloaded "$HELPER" perm)
echo "root, default range: $out"
[ "$out" = "raw ok ping EACCES" ] || fail "root with range \"1 0\": expected raw ok, ping EACCES"
bg_preloaded ping -c 8 -i 0.25 -w 15 "$HOST_ADDR" >"$IT_TMP/ping.out" 2>&1
PING_PID=$BG_PID
ss_sees raw || fail "netstackctl ss did not show ping's raw socket"
bg_wait "$PING_PID" 20 || fail "ping as root (raw socket) failed: $(cat "$IT_TMP/ping.out")"
out=$(cat "$IT_TMP/ping.out")
echo "$out"
ping_ok "$out" 8 || fail "ping as root (raw socket): not 8/8 replies"
e1=$(out_echos)
[ $((e1 - e0)) -ge 8 ] || fail "netstackd sent $((e1 - e0)) echo requests, expected 8: ping did not use the stack"

# 2. Root with its group in the range: ping -4 uses an ICMP datagram socket.
ctl sysctl -w net.ipv4.ping_group_range="0 0" || fail "cannot set ping_group_range"
out=$(run_preloaded "$HELPER" perm)
echo "root, range 0 0: $out"
[ "$out" = "raw ok ping ok" ] || fail "root with range \"0 0\": expected both sockets"
bg_preloaded ping -4 -c 8 -i 0.25 -w 15 "$HOST_ADDR" >"$IT_TMP/ping.out" 2>&1
PING_PID=$BG_PID
ss_sees icmp || fail "netstackctl ss did not show ping's ICMP socket"
bg_wait "$PING_PID" 20 || fail "ping -4 (ping socket) failed: $(cat "$IT_TMP/ping.out")"
out=$(cat "$IT_TMP/ping.out")
echo "$out"
ping_ok "$out" 8 || fail "ping -4 (ping socket): not 8/8 replies"
echo "$out" | grep -qi warning && fail "ping -4 warned about a socket option"

# 3. nobody: no raw sockets (EPERM, as without CAP_NET_RAW), and ping
#    sockets only once the range covers its group.  ping's file capability
#    (cap_net_raw=ep) puts it in secure-execution mode for anyone but root,
#    and the loader then ignores LD_PRELOAD; a copy has no capability, as
#    ping on a system without them.
cp /usr/bin/ping "$IT_TMP/ping" 2>/dev/null || cp "$(command -v ping)" "$IT_TMP/ping" ||
	fail "cannot copy ping"
chmod 0755 "$IT_TMP/ping"
asnobody() {
	run_preloaded setpriv --no-new-privs --reuid=nobody --regid="$nogroup" --clear-groups "$@"
}
out=$(asnobody "$HELPER" perm)
echo "nobody, range 0 0: $out"
[ "$out" = "raw EPERM ping EACCES" ] || fail "nobody outside the range: expected EPERM and EACCES"
out=$(asnobody "$IT_TMP/ping" -c 1 -W 1 "$HOST_ADDR" 2>&1)
rc=$?
echo "$out"
[ $rc -ne 0 ] || fail "ping as nobody outside ping_group_range succeeded"
echo "$out" | grep -q "Operation not permitted" ||
	fail "ping as nobody outside ping_group_range: not refused a raw socket (EPERM)"
ctl sysctl -w net.ipv4.ping_group_range="$nogroup $nogroup" || fail "cannot set ping_group_range"
out=$(asnobody "$HELPER" perm)
echo "nobody, range $nogroup: $out"
[ "$out" = "raw EPERM ping ok" ] || fail "nobody inside the range: expected EPERM and a ping socket"
e0=$(out_echos)
out=$(asnobody "$IT_TMP/ping" -c 3 -i 0.2 -w 10 "$HOST_ADDR" 2>&1)
echo "$out"
ping_ok "$out" 3 || fail "ping as nobody (ping socket): not 3/3 replies"
e1=$(out_echos)
[ $((e1 - e0)) -ge 3 ] || fail "ping as nobody did not go through netstackd"
out=$(asnobody "$HELPER" ping "$HOST_ADDR" 4660) || fail "icmp_sock ping as nobody: $out"
echo "nobody: $out"
ctl sysctl -w net.ipv4.ping_group_range="0 0" || fail "cannot set ping_group_range"

# 4. Raw sockets by hand: echo requests built by the program, with and
#    without its own IP header, ICMP_FILTER, and to the stack's own address.
for args in "raw $HOST_ADDR 3" "hdrincl $HOST_ADDR" "filter $HOST_ADDR" "raw $STACK_ADDR 2" \
	"ping $HOST_ADDR 4660" "ping 127.0.0.1 4661"; do
	# shellcheck disable=SC2086 # mode and arguments
	out=$(run_preloaded timeout 20 "$HELPER" $args 2>&1)
	rc=$?
	echo "icmp_sock $args: $out"
	[ $rc -eq 0 ] || fail "icmp_sock $args failed"
done

# 5. ICMP errors: the kernel forwards, but has no route to 10.201.0.0/16 and
#    says so (net unreachable).  ping prints it in both modes.
in_ns sysctl -qw net.ipv4.ip_forward=1 || fail "cannot enable forwarding in the namespace"
for mode in raw dgram; do
	if [ $mode = raw ]; then
		ctl sysctl -w net.ipv4.ping_group_range="1 0" >/dev/null
	else
		ctl sysctl -w net.ipv4.ping_group_range="0 0" >/dev/null
	fi
	out=$(run_preloaded ping -4 -c 1 -W 2 10.201.0.1 2>&1)
	echo "$out"
	echo "$out" | grep -q "From $HOST_ADDR icmp_seq=1 Destination Net Unreachable" ||
		fail "ping ($mode socket) did not report the kernel's net unreachable"
	# The kernel limits its ICMP errors to about one a second.
	sleep 1.1
done

stop_daemon
pass
