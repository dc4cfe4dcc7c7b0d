#!/bin/sh
# GRO for TCP: the kernel's socat sends a file (GRO_MB MiB, default 64) to
# socat under LD_PRELOAD, which writes what it receives to a file; the
# sha256 matches.  With net.netstack.gro=1 the stack merges segments
# (softnet gro_merged > 0) and ip_rcv runs fewer times than IPv4 frames
# were read from the TAP; with net.netstack.gro=0, in the same run, nothing
# is merged and ip_rcv runs exactly once per IPv4 frame.  IPv4 frames are
# the TAP's rx_packets less the ARP frames the stack counted (the kernel
# side has IPv6 off and a pinned neighbour, so little else arrives).
# Prints the throughput of both transfers.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tcp_lib.sh"

setup
require_cmd socat timeout sha256sum
require_libnetstack
start_daemon

MB=${GRO_MB:-64}
tsan_runtime && MB=${GRO_MB:-16}
make_file "$IT_TMP/src.bin" "$MB"
want=$(sha "$IT_TMP/src.bin")

# Only IPv4 and ARP on the link, and no ARP from the kernel side.
in_ns sysctl -qw "net.ipv6.conf.$TAP.disable_ipv6=1" 2>/dev/null || true
in_ns ping -c 1 -W 5 "$STACK_ADDR" >/dev/null || fail "the stack does not answer ping"
mac=$(in_ns ip -j neigh show "$STACK_ADDR" dev "$TAP" | jget 'j[0]["lladdr"]') ||
	fail "no neighbour entry for $STACK_ADDR"
in_ns ip neigh replace "$STACK_ADDR" lladdr "$mac" nud permanent dev "$TAP" ||
	fail "cannot pin the neighbour entry"

# snap1: "rx ip_rcv gro_merged gro_flush arp_in" summed over the TAP and the workers.
snap1() {
	_l=$(ctl_json link) || fail "netstackctl -j link failed"
	_s=$(ctl_json softnet) || fail "netstackctl -j softnet failed"
	_t=$(ctl_json stats) || fail "netstackctl -j stats failed"
	printf '%s\n%s\n%s\n' "$_l" "$_s" "$_t" | "$PYTHON" -c '
import json, sys
l, s, t = (json.loads(x) for x in sys.stdin.read().split("\n") if x.strip())
rx = sum(d["stats64"]["rx"]["packets"] for d in l if d["ifname"] == sys.argv[1])
a = t.get("Arp", {})
arp = a.get("InRequests", 0) + a.get("InReplies", 0) + a.get("InGratuitous", 0)
print(rx, sum(w["ip_rcv"] for w in s), sum(w["gro_merged"] for w in s),
      sum(w["gro_flush"] for w in s), arp)
' "$TAP"
}

# snap: snap1 once two readings 100 ms apart agree (the counters are read
# one by one, so an ARP exchange while they are read would skew them).
snap() {
	_prev=$(snap1)
	_i=0
	while [ $_i -lt 50 ]; do
		sleep 0.1
		_cur=$(snap1)
		[ "$_cur" = "$_prev" ] && { echo "$_cur"; return 0; }
		_prev=$_cur
		_i=$((_i + 1))
	done
	echo "$_cur"
}

# transfer GRO(0|1): one file transfer with net.netstack.gro=GRO; sets
# D_RX D_IP D_MERGED D_FLUSH D_ARP (deltas) and MS.
transfer() {
	ctl sysctl -w "net.netstack.gro=$1" >/dev/null || fail "cannot set net.netstack.gro=$1"
	rm -f "$IT_TMP/got.bin"
	# shellcheck disable=SC2046 # five numbers
	set -- "$1" $(snap)
	bg_preloaded timeout 150 socat -u TCP-LISTEN:5201,reuseaddr \
		"OPEN:$IT_TMP/got.bin,creat,trunc" >"$IT_TMP/srv.out" 2>&1
	srv=$BG_PID
	wait_stack_listen 5201
	t0=$(now_ms)
	in_ns timeout 120 socat -u "OPEN:$IT_TMP/src.bin" "TCP:$STACK_ADDR:5201" \
		>"$IT_TMP/cli.out" 2>&1 || { cat "$IT_TMP/cli.out"; fail "socat sender (gro=$1) failed"; }
	bg_wait "$srv" 30 || { cat "$IT_TMP/srv.out"; fail "socat receiver (gro=$1) failed"; }
	MS=$(($(now_ms) - t0))
	[ "$(sha "$IT_TMP/got.bin")" = "$want" ] ||
		fail "gro=$1: the received file differs ($(wc -c <"$IT_TMP/got.bin") bytes)"
	# shellcheck disable=SC2046
	set -- "$@" $(snap)
	D_RX=$(($7 - $2))
	D_IP=$(($8 - $3))
	D_MERGED=$(($9 - $4))
	D_FLUSH=$((${10} - $5))
	D_ARP=$((${11} - $6))
	info "gro=$1: $MB MiB in $MS ms ($((MB * 1000 / (MS > 0 ? MS : 1))) MiB/s);" \
		"frames $D_RX (ARP $D_ARP), ip_rcv $D_IP, gro_merged $D_MERGED, gro_flush $D_FLUSH"
}

transfer 1
[ "$D_MERGED" -gt 0 ] || fail "gro=1: no segment was merged"
[ "$D_FLUSH" -gt 0 ] || fail "gro=1: gro_flush did not count"
[ "$D_IP" -lt $((D_RX - D_ARP)) ] || fail "gro=1: ip_rcv $D_IP not below IPv4 frames $((D_RX - D_ARP))"
# Every frame went up either merged into another or as a packet of its own.
[ "$D_IP" -eq $((D_RX - D_ARP - D_MERGED)) ] ||
	fail "gro=1: ip_rcv $D_IP + merged $D_MERGED != IPv4 frames $((D_RX - D_ARP))"
ms_on=$MS

transfer 0
[ "$D_MERGED" -eq 0 ] || fail "gro=0: $D_MERGED segments merged"
[ "$D_FLUSH" -eq 0 ] || fail "gro=0: gro_flush counted $D_FLUSH"
[ "$D_IP" -eq $((D_RX - D_ARP)) ] || fail "gro=0: ip_rcv $D_IP != IPv4 frames $((D_RX - D_ARP))"
ms_off=$MS
info "throughput kernel -> stack: gro on $((MB * 1000 / (ms_on > 0 ? ms_on : 1))) MiB/s," \
	"gro off $((MB * 1000 / (ms_off > 0 ? ms_off : 1))) MiB/s"

[ "$(drop_count TCP_CSUM)" -eq 0 ] || fail "TCP checksum drops on a clean link"
ctl softnet
stop_daemon
pass
