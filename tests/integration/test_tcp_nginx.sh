#!/bin/sh
# nginx (master and two workers, epoll, accept4, sendfile) under LD_PRELOAD
# serves wrk on the kernel side: TCP_NGINX_SECS (default 10) seconds with 50
# connections, once with keep-alive and once with "Connection: close";
# no socket errors and no non-2xx answers either time.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tcp_lib.sh"

setup
require_cmd nginx wrk timeout
require_libnetstack
start_daemon

SECS=${TCP_NGINX_SECS:-10}
tsan_runtime && SECS=${TCP_NGINX_SECS:-3}
mkdir -p "$IT_TMP/www" "$IT_TMP/nginx"
head -c 4096 /dev/urandom | base64 >"$IT_TMP/www/index.html"
cat >"$IT_TMP/nginx.conf" <<CONF
daemon off;
master_process on;
worker_processes 2;
user root;
pid $IT_TMP/nginx.pid;
error_log $IT_TMP/nginx.err info;
events { worker_connections 1024; }
http {
	access_log off;
	sendfile on;
	keepalive_requests 1000000;
	client_body_temp_path $IT_TMP/nginx;
	proxy_temp_path $IT_TMP/nginx;
	fastcgi_temp_path $IT_TMP/nginx;
	uwsgi_temp_path $IT_TMP/nginx;
	scgi_temp_path $IT_TMP/nginx;
	server {
		listen 8080 reuseport;
		root $IT_TMP/www;
	}
}
CONF
bg_preloaded nginx -c "$IT_TMP/nginx.conf" -p "$IT_TMP/nginx"
ngx=$BG_PID
wait_stack_listen 8080
in_ns curl -sS -o /dev/null "http://$STACK_ADDR:8080/index.html" ||
	{ cat "$IT_TMP/nginx.err" >&2; fail "nginx on the stack does not answer"; }

check_wrk() {
	cat "$IT_TMP/wrk.out"
	grep -q "Socket errors" "$IT_TMP/wrk.out" && fail "wrk ($1): socket errors"
	grep -q "Non-2xx" "$IT_TMP/wrk.out" && fail "wrk ($1): non-2xx responses"
	n=$(awk '/requests in/ { print $1 }' "$IT_TMP/wrk.out")
	[ "${n:-0}" -gt 0 ] || fail "wrk ($1): no requests completed"
}

info "wrk keep-alive, ${SECS}s, 50 connections"
in_ns timeout $((SECS + 30)) wrk -t2 -c50 -d"${SECS}s" "http://$STACK_ADDR:8080/index.html" \
	>"$IT_TMP/wrk.out" 2>&1 || fail "wrk (keep-alive) failed"
check_wrk keep-alive
info "wrk Connection: close, ${SECS}s, 50 connections"
in_ns timeout $((SECS + 30)) wrk -t2 -c50 -d"${SECS}s" -H "Connection: close" \
	"http://$STACK_ADDR:8080/index.html" >"$IT_TMP/wrk.out" 2>&1 || fail "wrk (close) failed"
check_wrk close
kill "$ngx" 2>/dev/null
bg_wait "$ngx" 5 || true
pass
