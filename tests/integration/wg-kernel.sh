#!/bin/bash
# clawnexus-wg against kernel WireGuard: Debian's kernel and its
# wireguard.ko boot under qemu (TCG) with clawnexus-wg, wg and ip in a
# busybox initramfs; every step is checked against `wg show dump` taken in
# the guest, including replies that the kernel splits over many messages.
. "$abs_top_srcdir/tests/lib.sh"
. "$abs_top_srcdir/tests/kernel/qemu.sh"

cnx_need_cmd qemu-system-x86_64 python3 cpio gzip modprobe depmod wg ip
[ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 ||
    cnx_skip "needs a static /bin/busybox (busybox-static)"
bin="$abs_top_builddir/wg-bridge/.libs/clawnexus-wg"
[ -x "$bin" ] || bin="$abs_top_builddir/wg-bridge/clawnexus-wg"
[ "$(head -c 4 "$bin" | tail -c 3)" = ELF ] || cnx_fail "no clawnexus-wg executable in the build tree"
export LD_LIBRARY_PATH="$abs_top_builddir/plugins/libclawnexus/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

cnx_kernel_fetch
cnx_tmpdir dir
python3 "$abs_top_srcdir/tests/kernel/wg-kernel.py" gen "$dir" || cnx_fail "cannot generate the guest script"
cnx_initramfs_build "$dir/initrd.gz" wireguard "$dir/guest.sh" "$dir/data" \
    "$bin:clawnexus-wg" "$(command -v wg):wg" "$(command -v ip):ip" "$(command -v bash):bash"
cnx_qemu_run "$dir/initrd.gz" "$dir/console.log" 600 ||
    { tail -50 "$dir/console.log" >&2; cnx_fail "qemu failed or timed out (exit $?)"; }
python3 "$abs_top_srcdir/tests/kernel/wg-kernel.py" check "$dir/console.log" "$dir" ||
    cnx_fail "kernel checks failed (above)"
cnx_log "add/remove/sync/show/resolve on kernel WireGuard $CNX_KVER, split replies included"
