#!/bin/sh
# test_install: `make install DESTDIR=...` puts every file where the
# configured directories say (read from the build's Makefile, as make
# expands them): netstackd in sbindir, netstackctl in bindir, the unit in
# systemdsystemunitdir, the configuration as sysconfdir/netstack/
# netstackd.conf and the tmpfiles.d entry in tmpfilesdir, under a name
# systemd-tmpfiles reads (*.conf, see tmpfiles.d(5)).  The installed files
# are the built ones, and `make uninstall` removes them again.  Everything
# stays under a private DESTDIR; needs no root.
. "$(dirname "$0")/lib.sh"

make_tmpdir
require_binaries
dest=$IT_TMP/root

# dir_of NAME: the configured directory NAME, absolute.
dir_of() {
	_d=$(make_var "$1") || return 1
	case $_d in
	/*) echo "$_d" ;;
	*) return 1 ;;
	esac
}
sbindir=$(dir_of sbindir) || fail "cannot evaluate sbindir in $abs_top_builddir/Makefile"
bindir=$(dir_of bindir) || fail "cannot evaluate bindir in $abs_top_builddir/Makefile"
sysconfdir=$(dir_of sysconfdir) || fail "cannot evaluate sysconfdir in $abs_top_builddir/Makefile"
systemdsystemunitdir=$(dir_of systemdsystemunitdir) ||
	fail "cannot evaluate systemdsystemunitdir in $abs_top_builddir/Makefile"
tmpfilesdir=$(dir_of tmpfilesdir) || fail "cannot evaluate tmpfilesdir in $abs_top_builddir/Makefile"
libdir=$(dir_of libdir) || fail "cannot evaluate libdir in $abs_top_builddir/Makefile"
includedir=$(dir_of includedir) || fail "cannot evaluate includedir in $abs_top_builddir/Makefile"
info "sbindir=$sbindir bindir=$bindir sysconfdir=$sysconfdir"
info "systemdsystemunitdir=$systemdsystemunitdir tmpfilesdir=$tmpfilesdir"

make_in_build install DESTDIR="$dest" >"$IT_TMP/install.log" 2>&1 || {
	cat "$IT_TMP/install.log"
	fail "make install DESTDIR=$dest failed"
}
echo "installed files:"
(cd "$dest" && find . -type f | sort)

# expect_file PATH [exec]: PATH (below DESTDIR) is a regular file,
# executable if asked.
expect_file() {
	[ -f "$dest$1" ] || fail "not installed: $1"
	if [ "${2:-}" = exec ]; then
		[ -x "$dest$1" ] || fail "not executable: $1"
	fi
}
expect_file "$sbindir/netstackd" exec
expect_file "$bindir/netstackctl" exec
expect_file "$bindir/netstack-demo" exec
expect_file "$systemdsystemunitdir/netstackd.service"
expect_file "$sysconfdir/netstack/netstackd.conf"
# The client library, for LD_PRELOAD and for programs that link it.
expect_file "$libdir/libnetstack.so.0.0.0"
[ -L "$dest$libdir/libnetstack.so" ] || fail "no libnetstack.so link in $libdir"
expect_file "$includedir/netstack.h"

cmp "$dest$sysconfdir/netstack/netstackd.conf" "$abs_top_srcdir/etc/netstackd.conf" ||
	fail "the installed netstackd.conf differs from etc/netstackd.conf"
cmp "$dest$systemdsystemunitdir/netstackd.service" "$abs_top_builddir/etc/netstackd.service" ||
	fail "the installed unit differs from the generated one"
grep -qx "ExecStart=$sbindir/netstackd -f -c $sysconfdir/netstack/netstackd.conf" \
	"$dest$systemdsystemunitdir/netstackd.service" ||
	fail "the installed unit does not start $sbindir/netstackd with $sysconfdir/netstack/netstackd.conf"
"$dest$sbindir/netstackd" --version >/dev/null || fail "the installed netstackd does not run"
"$dest$sbindir/netstackd" -t -c "$dest$sysconfdir/netstack/netstackd.conf" >/dev/null ||
	fail "the installed netstackd rejects the installed configuration"

# tmpfiles.d: systemd-tmpfiles reads only files named *.conf.
ls "$dest$tmpfilesdir" || fail "nothing installed in tmpfilesdir $tmpfilesdir"
tmpf=$(grep -l '^d /run/netstackd ' "$dest$tmpfilesdir"/* 2>/dev/null | head -n 1)
[ -n "$tmpf" ] || fail "no tmpfiles.d entry for /run/netstackd in $tmpfilesdir"
# (Checked last, so that the rest of the installation is checked too.)
tmpfiles_problem=
case $tmpf in
*.conf) ;;
*) tmpfiles_problem="tmpfiles.d entry installed as ${tmpf#"$dest"}: systemd-tmpfiles only reads *.conf files, so /run/netstackd would never be created" ;;
esac

# Every installed file is below one of the configured directories.
stray=$( (cd "$dest" && find . -type f) | while read -r f; do
	f=${f#.}
	case $f in
	"$sbindir"/* | "$bindir"/* | "$sysconfdir"/* | "$systemdsystemunitdir"/* | "$tmpfilesdir"/* | \
		"$libdir"/* | "$includedir"/*) ;;
	*) echo "$f" ;;
	esac
done)
[ -z "$stray" ] || fail "installed outside the configured directories: $stray"

make_in_build uninstall DESTDIR="$dest" >"$IT_TMP/uninstall.log" 2>&1 || {
	cat "$IT_TMP/uninstall.log"
	fail "make uninstall DESTDIR=$dest failed"
}
left=$(cd "$dest" && find . -type f)
[ -z "$left" ] || fail "make uninstall left files behind: $left"
[ -z "$tmpfiles_problem" ] || fail "$tmpfiles_problem"
pass
