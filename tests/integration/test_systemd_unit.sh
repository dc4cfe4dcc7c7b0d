#!/bin/sh
# test_systemd_unit: the unit the build generates ($abs_top_builddir/etc/
# netstackd.service, @sbindir@ and @sysconfdir@ substituted) is accepted by
# `systemd-analyze verify` without a single message, is Type=notify and
# keeps CAP_NET_ADMIN in its capability bounding set.  verify exits 0 even
# when it ignores an unknown key, so the output must be empty; it also
# insists that the ExecStart= binary exists, so the configured path is
# replaced with a stand-in executable.  Needs neither root nor a running
# systemd.
. "$(dirname "$0")/lib.sh"

command -v systemd-analyze >/dev/null 2>&1 || skip "systemd-analyze not found"
make_tmpdir
unit=$abs_top_builddir/etc/netstackd.service
[ -r "$unit" ] || fail "the build did not generate $unit"
grep -n '@[a-z]*@' "$unit" && fail "$unit has unsubstituted placeholders"

# The ExecStart= line as generated: the configured sbindir and sysconfdir.
sbindir=$(make_var sbindir) || fail "cannot evaluate sbindir in $abs_top_builddir/Makefile"
sysconfdir=$(make_var sysconfdir) || fail "cannot evaluate sysconfdir in $abs_top_builddir/Makefile"
exec_line=$(grep '^ExecStart=' "$unit") || fail "no ExecStart= in $unit"
echo "$exec_line"
[ "$(grep -c '^ExecStart=' "$unit")" -eq 1 ] || fail "more than one ExecStart="
[ "$exec_line" = "ExecStart=$sbindir/netstackd -f -c $sysconfdir/netstack/netstackd.conf" ] ||
	fail "ExecStart= is not $sbindir/netstackd -f -c $sysconfdir/netstack/netstackd.conf"

mkdir "$IT_TMP/sbin" "$IT_TMP/unit"
printf '#!/bin/sh\nexit 0\n' >"$IT_TMP/sbin/netstackd"
chmod 755 "$IT_TMP/sbin/netstackd"
sed -e "s|^ExecStart=[^ ]*/netstackd |ExecStart=$IT_TMP/sbin/netstackd |" \
	"$unit" >"$IT_TMP/unit/netstackd.service"
grep -q "^ExecStart=$IT_TMP/sbin/netstackd -f -c " "$IT_TMP/unit/netstackd.service" ||
	fail "could not point ExecStart= at the stand-in"

out=$(cd "$IT_TMP/unit" && SYSTEMD_LOG_COLOR=0 systemd-analyze verify --man=no \
	"$IT_TMP/unit/netstackd.service" 2>&1)
rc=$?
echo "systemd-analyze verify: exit $rc"
[ -z "$out" ] || echo "$out"
[ $rc -eq 0 ] || fail "systemd-analyze verify exited with $rc"
[ -z "$out" ] || fail "systemd-analyze verify printed messages"

# The unit's promises, read from the generated file.
grep -qx 'Type=notify' "$unit" || fail "Type= is not notify"
grep -qx 'NotifyAccess=main' "$unit" || fail "NotifyAccess= is not main"
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit")
[ -n "$caps" ] || fail "no CapabilityBoundingSet="
echo "CapabilityBoundingSet=$caps"
case " $caps " in
*" ~"*) fail "CapabilityBoundingSet= is a deny list ($caps)" ;;
*" CAP_NET_ADMIN "*) ;;
*) fail "CapabilityBoundingSet= lacks CAP_NET_ADMIN ($caps)" ;;
esac
pass
