#!/bin/sh
# test_counters: after N pings, netstackctl's link, softnet, neigh and stats
# views account for them, with one worker and with two (RPS).
. "$(dirname "$0")/lib.sh"

setup
require_cmd ping
N=200

# check_counters WORKERS: ping N times, then check every view.
check_counters() {
	workers=$1
	out=$(in_ns ping -c $N -i 0.002 -q -w 20 "$STACK_ADDR" 2>&1)
	rc=$?
	echo "$out"
	[ $rc -eq 0 ] || fail "ping -c $N exited with $rc"
	echo "$out" | grep -q "^$N packets transmitted, $N received" || fail "ping: not $N/$N"

	host_mac=$(in_ns ip -j link show "$TAP" | jget 'j[0]["address"]') ||
		fail "cannot read the kernel side's MAC"
	info "kernel side MAC $host_mac"

	link=$(ctl_json link) || fail "netstackctl -j link failed"
	echo "link: $link"
	jcheck "$link" '[l["ifname"] for l in j] == ["lo", "'"$TAP"'"]' "link: lo and $TAP"
	# From here on j[0] is the TAP.
	link=$(printf '%s\n' "$link" | jget '[l for l in j if l["ifname"] != "lo"]')
	jcheck "$link" 'j[0]["stats64"]["rx"]["packets"] >= '$N "link: rx packets < $N"
	jcheck "$link" 'j[0]["stats64"]["tx"]["packets"] >= '$N "link: tx packets < $N"
	jcheck "$link" 'j[0]["stats64"]["rx"]["bytes"] >= '$N' * 98' "link: rx bytes < $N * 98"
	jcheck "$link" 'j[0]["stats64"]["tx"]["bytes"] >= '$N' * 98' "link: tx bytes < $N * 98"
	jcheck "$link" 'j[0]["stats64"]["rx"]["errors"] == 0 and j[0]["stats64"]["tx"]["errors"] == 0' \
		"link: errors counted"
	jcheck "$link" '[a["local"] for a in j[0]["addr_info"]] == ["'"$STACK_ADDR"'"]' \
		"link: address is not $STACK_ADDR"

	softnet=$(ctl_json softnet) || fail "netstackctl -j softnet failed"
	echo "softnet: $softnet"
	jcheck "$softnet" "len(j) == $workers" "softnet: expected $workers entries"
	jcheck "$softnet" 'sorted(w["cpu"] for w in j) == list(range('"$workers"'))' \
		"softnet: cpu numbers are not 0..$workers-1"
	jcheck "$softnet" 'sum(w["processed"] for w in j) >= '$N "softnet: processed < $N"
	jcheck "$softnet" 'sum(w["dropped"] for w in j) == 0' "softnet: drops counted"

	neigh=$(ctl_json neigh) || fail "netstackctl -j neigh failed"
	echo "neigh: $neigh"
	jcheck "$neigh" '[n for n in j if n["dst"] == "'"$HOST_ADDR"'" and n["dev"] == "'"$TAP"'"
		and n["lladdr"].lower() == "'"$host_mac"'".lower()
		and n["state"] in ("REACHABLE", "STALE", "DELAY", "PROBE")]' \
		"neigh: no resolved entry $HOST_ADDR lladdr $host_mac"

	stats=$(ctl_json stats) || fail "netstackctl -j stats failed"
	echo "stats: $stats"
	jcheck "$stats" 'j["Icmp"]["InEchos"] >= '$N "stats: Icmp.InEchos < $N"
	jcheck "$stats" 'j["Icmp"]["OutEchoReps"] >= '$N "stats: Icmp.OutEchoReps < $N"
	jcheck "$stats" 'j["Ip"]["InReceives"] >= '$N "stats: Ip.InReceives < $N"
	jcheck "$stats" 'j["Ip"]["InDelivers"] >= '$N "stats: Ip.InDelivers < $N"
	jcheck "$stats" 'j["Ip"]["OutRequests"] >= '$N "stats: Ip.OutRequests < $N"
	jcheck "$stats" 'j["IcmpMsg"]["InType8"] >= '$N' and j["IcmpMsg"]["OutType0"] >= '$N \
		"stats: IcmpMsg InType8/OutType0 < $N"
}

info "one worker"
start_daemon
check_counters 1
stop_daemon

info "two workers"
start_daemon --workers 2
check_counters 2
stop_daemon
pass
