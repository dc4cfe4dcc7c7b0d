#!/bin/sh
# netstackd as a router between two kernel hosts.
#
# Three namespaces: A and B are plain kernel hosts; R runs netstackd with
# two TAPs, nstA and nstB, whose kernel sides are moved into A and B (the
# TAP descriptors stay with netstackd in R).  A reaches B and a network C
# behind B (10.200.$SC.1 on B's lo, a static [route] in netstackd.conf)
# only through netstackd, with ip_forward = 1 in the file:
#
#   A 10.200.$SA.1 --nstA-- .2 [netstackd] .2 --nstB-- 10.200.$SB.1 B (+ C)
#                                   mtu 1500 | mtu 1400
#
# Asserts what a user sees: ping A -> B and A -> C; traceroute (UDP and
# ICMP) lists netstackd's address, then B; an iperf3 TCP transfer A -> B
# completes while routes and addresses change; ping -t 1 gets "Time to live exceeded" and DF pings too big
# for nstB get "Frag needed" with mtu 1400; `netstackctl route del` of C
# makes A's ping get "Destination Net Unreachable", unreachable and
# prohibit routes give "Destination Host Unreachable" and "Packet
# filtered"; net.ipv4.ip_forward = 0 stops forwarding with counted drops;
# addresses added and removed at run time answer and stop answering.
. "$(dirname "$0")/lib.sh"

setup
require_cmd ping traceroute iperf3 timeout
make_netns NSA
make_netns NSB
SA=$SUBNET
SB=$((SUBNET + 1))
SC=$((SUBNET + 2))
A=10.200.$SA.1
B=10.200.$SB.1
C=10.200.$SC.1
RA=10.200.$SA.2
RB=10.200.$SB.2

CONF=$IT_TMP/router.conf
cat >"$CONF" <<EOF
[daemon]
workers = 2

[interface nstA]
address = $RA/24

[interface nstB]
address = $RB/24
mtu = 1400

[route]
route = 10.200.$SC.0/24 via $B dev nstB

[sysctl]
net.ipv4.ip_forward = 1
# The test provokes many ICMP errors to A within seconds.
net.ipv4.icmp_ratelimit = 100
EOF
start_daemon_args -c "$CONF"

# The kernel side: A and B route everything through netstackd.
tap_to_netns nstA "$NSA" "$A/24"
tap_to_netns nstB "$NSB" "$B/24"
ip -n "$NSA" route add default via "$RA" || fail "cannot add A's default route"
ip -n "$NSB" route add default via "$RB" || fail "cannot add B's default route"
ip -n "$NSB" addr add "$C/32" dev lo || fail "cannot add C's address in B"

a() { ip netns exec "$NSA" "$@"; }
b() { ip netns exec "$NSB" "$@"; }

# counter GROUP NAME: a `netstackctl stats` counter (Ip, Icmp, Arp, ...).
counter() {
	ctl_json stats | jget "j['$1'].get('$2', 0)" || fail "cannot read $1 $2"
}

# drops NAME: how many drops of reason NAME.
drops() {
	ctl_json drops | jget "j.get('$1', 0)" || fail "cannot read drop reason $1"
}

# ---- routes and addresses as configured ------------------------------------
routes=$(ctl route) || fail "netstackctl route failed"
info "routes:"
printf '%s\n' "$routes"
printf '%s\n' "$routes" | grep -qx "10.200.$SA.0/24 dev nstA proto kernel scope link src $RA" ||
	fail "no connected route for nstA in: $routes"
printf '%s\n' "$routes" | grep -qx "10.200.$SC.0/24 via $B dev nstB proto boot" ||
	fail "no configured route to C in: $routes"
ctl route show table local | grep -qx "local $RB dev nstB proto kernel scope host src $RB" ||
	fail "no local route for $RB"
ctl route show table local | grep -qx "broadcast 10.200.$SB.255 dev nstB proto kernel scope link src $RB" ||
	fail "no broadcast route for nstB"
j=$(ctl_json route) || fail "netstackctl -j route failed"
jcheck "$j" "any(r['dst'] == '10.200.$SC.0/24' and r['gateway'] == '$B' and r['dev'] == 'nstB' for r in j)" \
	"route -j lacks the route to C"
ctl addr | grep -Eq "^nstA +UP +$RA/24$" || fail "addr show: $(ctl addr)"

# ---- forwarding --------------------------------------------------------------
fwd0=$(counter Ip ForwDatagrams)
a ping -c 3 -i 0.2 -W 2 "$B" >"$IT_TMP/ping.out" 2>&1 || {
	cat "$IT_TMP/ping.out"
	fail "A cannot ping B through netstackd"
}
a ping -c 2 -i 0.2 -W 2 "$C" >/dev/null 2>&1 || fail "A cannot ping C (static route via B)"
fwd1=$(counter Ip ForwDatagrams)
[ "$fwd1" -ge $((fwd0 + 10)) ] || fail "Ip ForwDatagrams went from $fwd0 to $fwd1 only"
info "ping A -> B and A -> C: ok (ForwDatagrams $fwd0 -> $fwd1)"

# The neighbour table is per device.
j=$(ctl_json neigh) || fail "netstackctl -j neigh failed"
jcheck "$j" "any(n['dst'] == '$A' and n['dev'] == 'nstA' for n in j) and any(n['dst'] == '$B' and n['dev'] == 'nstB' for n in j)" \
	"neighbours not learned on their own devices"

# ---- traceroute: netstackd's hop, then B -------------------------------------
ttl0=$(drops IP_FWD_TTL)
for mode in udp icmp; do
	opt=
	[ "$mode" = icmp ] && opt=-I
	# shellcheck disable=SC2086 # $opt is empty or one word
	a timeout 20 traceroute -n -q 1 -w 2 -m 4 $opt "$B" >"$IT_TMP/tr.out" 2>&1 ||
		{ cat "$IT_TMP/tr.out"; fail "traceroute ($mode) failed"; }
	info "traceroute ($mode):"
	cat "$IT_TMP/tr.out"
	hop1=$(awk '$1 == "1" { print $2 }' "$IT_TMP/tr.out")
	hop2=$(awk '$1 == "2" { print $2 }' "$IT_TMP/tr.out")
	[ "$hop1" = "$RA" ] || fail "traceroute ($mode): hop 1 is '$hop1', not netstackd's $RA"
	[ "$hop2" = "$B" ] || fail "traceroute ($mode): hop 2 is '$hop2', not B ($B)"
done

# ---- TTL expiry and DF -----------------------------------------------------------
a ping -c 1 -W 2 -t 1 "$B" >"$IT_TMP/ttl.out" 2>&1
grep -q "From $RA .*Time to live exceeded" "$IT_TMP/ttl.out" ||
	{ cat "$IT_TMP/ttl.out"; fail "ping -t 1 did not get Time to live exceeded from $RA"; }
ttl1=$(drops IP_FWD_TTL)
[ "$ttl1" -ge $((ttl0 + 3)) ] || fail "TTL expiries counted: $ttl0 -> $ttl1 (expected 3 more)"
[ "$(counter Icmp OutTimeExcds)" -ge 3 ] || fail "Icmp OutTimeExcds below 3"
[ "$(counter Ip InHdrErrors)" -ge 3 ] || fail "Ip InHdrErrors below 3"

# 1450 bytes of payload fit nstA (1500) but not nstB (1400).
a ping -c 1 -W 2 -M do -s 1450 "$B" >"$IT_TMP/df.out" 2>&1
grep -q "From $RA .*Frag needed and DF set (mtu = 1400)" "$IT_TMP/df.out" ||
	{ cat "$IT_TMP/df.out"; fail "a DF ping too big for nstB did not get Frag needed (mtu 1400)"; }
[ "$(drops IP_FWD_FRAG_NEEDED)" -ge 1 ] || fail "IP_FWD_FRAG_NEEDED not counted"
info "TTL exceeded and frag needed: ok"

# ---- iperf3 TCP transfer through netstackd --------------------------------------
b iperf3 -s -1 -B "$B" -p 5201 >"$IT_TMP/iperf-s.out" 2>&1 &
SRV=$!
bg_track "$SRV"
i=0
while ! b ss -ltn 2>/dev/null | grep -q "$B:5201" && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
ip netns exec "$NSA" timeout 30 iperf3 -c "$B" -p 5201 -t 3 -J >"$IT_TMP/iperf.json" \
	2>"$IT_TMP/iperf.err" &
CLI=$!
bg_track "$CLI"
# Meanwhile, change routes and addresses under the workers' feet: the FIB
# is replaced and old tables freed while packets are being forwarded.
i=0
while [ $i -lt 20 ]; do
	ctl route add 10.200.250.0/24 via "$B" >/dev/null || fail "route add under load ($i)"
	ctl addr add "10.200.$SA.9/24" dev nstA >/dev/null || fail "addr add under load ($i)"
	ctl route del 10.200.250.0/24 >/dev/null || fail "route del under load ($i)"
	ctl addr del "10.200.$SA.9/24" dev nstA >/dev/null || fail "addr del under load ($i)"
	i=$((i + 1))
done
bg_wait "$CLI" 30 || { cat "$IT_TMP/iperf.json" "$IT_TMP/iperf.err"; fail "iperf3 A -> B failed"; }
bg_wait "$SRV" 10 || fail "iperf3 server did not finish"
rx=$(jget "j['end']['sum_received']['bytes']" <"$IT_TMP/iperf.json") || fail "no iperf3 result"
bps=$(jget "int(j['end']['sum_received']['bits_per_second'])" <"$IT_TMP/iperf.json")
[ "$rx" -gt 1000000 ] || fail "iperf3 moved only $rx bytes"
info "iperf3 A -> B through netstackd: $rx bytes, $((bps / 1000000)) Mbit/s"

# ---- route changes at run time -------------------------------------------------
ctl route del "10.200.$SC.0/24" || fail "route del of C's network failed"
ctl route | grep -q "10.200.$SC.0/24" && fail "route to C still shown after del"
nr0=$(drops IP_INNOROUTES)
a ping -c 1 -W 2 "$C" >"$IT_TMP/unr.out" 2>&1 && fail "C still answers without a route"
grep -q "From $RA .*Destination Net Unreachable" "$IT_TMP/unr.out" ||
	{ cat "$IT_TMP/unr.out"; fail "no Destination Net Unreachable from $RA"; }
[ "$(drops IP_INNOROUTES)" -gt "$nr0" ] || fail "IP_INNOROUTES not counted"

ctl route add unreachable "10.200.$SC.0/24" || fail "route add unreachable failed"
a ping -c 1 -W 2 "$C" >"$IT_TMP/unr.out" 2>&1
grep -q "From $RA .*Destination Host Unreachable" "$IT_TMP/unr.out" ||
	{ cat "$IT_TMP/unr.out"; fail "unreachable route: no Destination Host Unreachable"; }
ctl route del unreachable "10.200.$SC.0/24" || fail "route del unreachable failed"
ctl route add prohibit "10.200.$SC.0/24" || fail "route add prohibit failed"
a ping -c 1 -W 2 "$C" >"$IT_TMP/unr.out" 2>&1
grep -qi "From $RA .*Packet filtered" "$IT_TMP/unr.out" ||
	{ cat "$IT_TMP/unr.out"; fail "prohibit route: no Packet filtered"; }
ctl route del prohibit "10.200.$SC.0/24" || fail "route del prohibit failed"

ctl route add "10.200.$SC.0/24" via "$B" || fail "route add via B failed"
ctl route | grep -qx "10.200.$SC.0/24 via $B dev nstB proto static" ||
	fail "added route not shown: $(ctl route)"
a ping -c 1 -W 2 "$C" >/dev/null 2>&1 || fail "C unreachable after the route came back"

# Mistakes are refused with ip's words.
ctl route add 10.200.250.0/24 via 10.200.251.1 2>"$IT_TMP/err.out" &&
	fail "a gateway on no connected prefix was accepted"
grep -q "Nexthop has invalid gateway" "$IT_TMP/err.out" || fail "error: $(cat "$IT_TMP/err.out")"
ctl route del 10.200.250.0/24 2>"$IT_TMP/err.out" && fail "deleting a missing route succeeded"
grep -q "No such process" "$IT_TMP/err.out" || fail "error: $(cat "$IT_TMP/err.out")"
ctl route add "10.200.$SC.0/24" via "$B" 2>"$IT_TMP/err.out" && fail "a duplicate route was accepted"
grep -q "File exists" "$IT_TMP/err.out" || fail "error: $(cat "$IT_TMP/err.out")"
info "route del/add at run time: ok"

# ---- ip_forward = 0 ------------------------------------------------------------------
ctl sysctl -w net.ipv4.ip_forward=0 >/dev/null || fail "cannot set ip_forward=0"
nl0=$(drops IP_NOT_LOCAL)
ae0=$(counter Ip InAddrErrors)
a ping -c 2 -i 0.2 -W 1 "$B" >/dev/null 2>&1 && fail "B still reachable with ip_forward=0"
[ "$(drops IP_NOT_LOCAL)" -ge $((nl0 + 2)) ] || fail "ip_forward=0: IP_NOT_LOCAL drops not counted"
[ "$(counter Ip InAddrErrors)" -ge $((ae0 + 2)) ] || fail "ip_forward=0: InAddrErrors not counted"
ctl sysctl -w net.ipv4.ip_forward=1 >/dev/null || fail "cannot set ip_forward=1"
a ping -c 1 -W 2 "$B" >/dev/null 2>&1 || fail "B unreachable after ip_forward=1 again"
info "ip_forward=0 stops forwarding: ok"

# ---- addresses at run time -------------------------------------------------------------
X=10.200.$SA.5
garp0=$(counter Arp OutGratuitous)
ctl addr add "$X/24" dev nstA || fail "addr add failed"
a ping -c 1 -W 2 "$X" >/dev/null 2>&1 || fail "a new address does not answer"
ctl addr | grep -Eq "^nstA +UP +$RA/24 $X/24$" || fail "addr show: $(ctl addr)"
ctl route show table local | grep -qx "local $X dev nstA proto kernel scope host src $X" ||
	fail "no local route for the new address"
[ "$(counter Arp OutGratuitous)" -gt "$garp0" ] || fail "no gratuitous ARP for the new address"
ctl addr del "$X/24" dev nstA || fail "addr del failed"
ctl route show table local | grep -q "$X" && fail "local route of a deleted address remains"
a ip neigh flush dev nstA
a ping -c 1 -W 1 "$X" >/dev/null 2>&1 && fail "a deleted address still answers"
a ping -c 1 -W 2 "$RA" >/dev/null 2>&1 || fail "the first address stopped answering"
info "addr add/del at run time: ok"

stop_daemon
pass
