#!/bin/bash
# `make install DESTDIR=...` lays out the module, the programs, their man
# pages, shell completions, systemd units and sysusers file, and nothing
# else: libclawnexus is linked into the programs (no shared library, no
# headers), so the staged programs run without LD_LIBRARY_PATH.
. "$abs_top_srcdir/tests/lib.sh"

cnx_need_cmd make
cnx_tmpdir dir
stage=$dir/stage

make -s -C "$abs_top_builddir" install DESTDIR="$stage" > "$dir/install.out" 2>&1 ||
    { tail -20 "$dir/install.out" >&2; cnx_fail "make install DESTDIR=$stage failed"; }

# Installation directories as configure resolved them (a make of its own:
# not the jobserver or flags of a make check -j that runs this test).
var() {
    env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
    make -s --no-print-directory -C "$abs_top_builddir" -f Makefile -f - print-var V="$1" <<'MK'
print-var: ; @echo $($(V))
MK
}
libdir=$(var libdir)
bindir=$(var bindir)
mandir=$(var mandir)
datadir=$(var datadir)
unitdir=$(var systemdsystemunitdir)
sysusersdir=$(var sysusersdir)

want=(
    "$libdir/nginx/modules/ngx_stream_clawnexus_module.so"
    "$libdir/nginx/modules/ngx_http_clawnexus_registry_module.so"
    "$bindir/clawnexus-link"
    "$bindir/clawnexus-wg"
    "$mandir/man1/clawnexus-link.1"
    "$mandir/man1/clawnexus-wg.1"
    "$datadir/bash-completion/completions/clawnexus-link"
    "$datadir/bash-completion/completions/clawnexus-wg"
    "$unitdir/clawnexus-link-serve@.service"
    "$unitdir/clawnexus-link-connect@.service"
    "$unitdir/clawnexus-wg-sync@.service"
    "$unitdir/clawnexus-wg-sync@.path"
    "$sysusersdir/clawnexus-link.conf"
)
for f in "${want[@]}"; do
    [ -e "$stage$f" ] || cnx_fail "make install did not create $f"
done

# Nothing else: no library, headers or pkg-config file of libclawnexus.
extra=$(cd "$stage" && find . \( -type f -o -type l \) | sed 's/^\.//' | sort |
        grep -vxF -f <(printf '%s\n' "${want[@]}")) || true
[ -z "$extra" ] || cnx_fail "make install created files nobody asked for: $(echo $extra)"

# The units name the installed program.
grep -q "^ExecStart=$bindir/clawnexus-link serve" \
    "$stage$unitdir/clawnexus-link-serve@.service" ||
    cnx_fail "clawnexus-link-serve@.service does not run $bindir/clawnexus-link"

# The installed programs run as they are, without LD_LIBRARY_PATH.
for p in clawnexus-link clawnexus-wg; do
    env -u LD_LIBRARY_PATH "$stage$bindir/$p" --help > "$dir/$p.help" 2>&1 ||
        { cat "$dir/$p.help" >&2; cnx_fail "installed $p --help failed without LD_LIBRARY_PATH"; }
    grep -qi usage "$dir/$p.help" || cnx_fail "installed $p --help prints no usage"
    if ldd "$stage$bindir/$p" | grep -q libclawnexus; then
        cnx_fail "installed $p needs a shared libclawnexus"
    fi
done
cnx_log "installed layout complete (${#want[@]} files), programs self-contained"
