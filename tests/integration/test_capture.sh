#!/bin/sh
# netstackctl capture: summary lines for ping with -c (stops by itself,
# both directions), then a pcap written during a curl download
# (CAPTURE_MB MiB, default 3) from python3's http.server under
# LD_PRELOAD: tshark reads the file, frames of both directions are in it,
# and the TCP stream reassembled by tshark gives back the served file
# (same sha256); no frame was dropped.  A bad filter is refused.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tcp_lib.sh"

setup
require_cmd curl tshark sha256sum timeout ping
require_libnetstack
start_daemon --workers 2

PORT=8081
MB=${CAPTURE_MB:-3}

# capture_bg OUT ERR ARGS...: netstackctl capture ARGS in the background,
# returning once it says it is capturing (CAP_PID is its PID).
capture_bg() {
	_out=$1
	_err=$2
	shift 2
	"$NETSTACKCTL" -s "$CTL_SOCK" capture "$@" >"$_out" 2>"$_err" &
	CAP_PID=$!
	bg_track "$CAP_PID"
	_i=0
	while ! grep -q "capturing on" "$_err" 2>/dev/null; do
		pid_alive "$CAP_PID" || fail "netstackctl capture exited: $(cat "$_err")"
		[ $_i -lt 100 ] || fail "netstackctl capture did not start"
		sleep 0.05
		_i=$((_i + 1))
	done
}

info "capture -c 4 icmp: summary lines, both directions"
capture_bg "$IT_TMP/sum.out" "$IT_TMP/sum.err" -c 4 icmp
in_ns ping -c 3 -i 0.2 -W 1 "$STACK_ADDR" >/dev/null || fail "ping failed"
bg_wait "$CAP_PID" 10 || fail "capture -c 4 did not end by itself: $(cat "$IT_TMP/sum.err")"
cat "$IT_TMP/sum.out"
[ "$(wc -l <"$IT_TMP/sum.out")" -eq 4 ] || fail "expected 4 lines, got $(wc -l <"$IT_TMP/sum.out")"
grep -q "nst0 In  IP $HOST_ADDR > $STACK_ADDR: icmp type 8 code 0 (echo request)" "$IT_TMP/sum.out" ||
	fail "no received echo request line"
grep -q "nst0 Out IP $STACK_ADDR > $HOST_ADDR: icmp type 0 code 0 (echo reply)" "$IT_TMP/sum.out" ||
	fail "no sent echo reply line"
grep -q "^4 packets captured" "$IT_TMP/sum.err" || fail "no count: $(cat "$IT_TMP/sum.err")"
grep -q "packets dropped by netstackd" "$IT_TMP/sum.err" || fail "no drop count"

info "capture -w during a $MB MiB download"
mkdir -p "$IT_TMP/www"
make_file "$IT_TMP/www/file.bin" "$MB"
want=$(sha "$IT_TMP/www/file.bin")
bg_preloaded "$PYTHON" -m http.server "$PORT" --bind 0.0.0.0 --directory "$IT_TMP/www"
srv=$BG_PID
wait_stack_listen "$PORT"
capture_bg "$IT_TMP/cap.out" "$IT_TMP/cap.err" -i nst0 -B 16384 -w "$IT_TMP/cap.pcap" \
	tcp and port "$PORT" and host "$HOST_ADDR"
in_ns timeout 60 curl -sS -o "$IT_TMP/got" "http://$STACK_ADDR:$PORT/file.bin" ||
	fail "curl from the stack's http.server failed"
[ "$(sha "$IT_TMP/got")" = "$want" ] || fail "the download itself differs"
sleep 0.2
kill -INT "$CAP_PID"
bg_wait "$CAP_PID" 10 || fail "capture did not end after SIGINT: $(cat "$IT_TMP/cap.err")"
cat "$IT_TMP/cap.err"
grep -q "^0 packets dropped by netstackd" "$IT_TMP/cap.err" || fail "frames were dropped"
frames=$(sed -n 's/^\([0-9]*\) packets captured$/\1/p' "$IT_TMP/cap.err")
[ "${frames:-0}" -gt $((MB * 1048576 / 65536)) ] || fail "only ${frames:-0} frames captured"

n_all=$(tshark -r "$IT_TMP/cap.pcap" 2>/dev/null | wc -l)
[ "$n_all" -eq "$frames" ] || fail "tshark reads $n_all frames, netstackctl wrote $frames"
n_in=$(tshark -r "$IT_TMP/cap.pcap" -Y "ip.dst == $STACK_ADDR" 2>/dev/null | wc -l)
n_out=$(tshark -r "$IT_TMP/cap.pcap" -Y "ip.src == $STACK_ADDR" 2>/dev/null | wc -l)
info "tshark: $n_all frames, $n_in to the stack, $n_out from it"
[ "$n_in" -gt 0 ] && [ "$n_out" -gt 0 ] || fail "not both directions in the capture"
[ $((n_in + n_out)) -eq "$n_all" ] || fail "frames of other hosts passed the filter"
tshark -r "$IT_TMP/cap.pcap" -q -z follow,tcp,raw,0 >"$IT_TMP/follow.txt" 2>/dev/null ||
	fail "tshark cannot follow the TCP stream"
got=$("$PYTHON" - "$IT_TMP/follow.txt" <<'PY'
import hashlib, sys
server = bytearray()
started = False
for line in open(sys.argv[1]):
    if line.startswith("Node 1:"):
        started = True
        continue
    if not started or line.startswith("="):
        continue
    if line.startswith("\t"):
        server += bytes.fromhex(line.strip())
head, sep, body = bytes(server).partition(b"\r\n\r\n")
print(hashlib.sha256(body).hexdigest() if sep else "no-http-header")
PY
)
[ "$got" = "$want" ] || fail "the body reassembled from the capture differs ($got, want $want)"
info "reassembled body sha256 matches"
kill "$srv" 2>/dev/null
bg_wait "$srv" 2 || true

info "bad filters and devices are refused"
ctl capture bogus 2>"$IT_TMP/err" && fail "a bad filter was accepted"
grep -q "unknown word 'bogus'" "$IT_TMP/err" || fail "no reason: $(cat "$IT_TMP/err")"
ctl capture -i nosuch0 2>"$IT_TMP/err" && fail "a missing device was accepted"
grep -q "no device 'nosuch0'" "$IT_TMP/err" || fail "no reason: $(cat "$IT_TMP/err")"

stop_daemon
pass
