# Helpers to run programs of this tree under a real Debian kernel in qemu
# (sourced by tests).  The kernel package is downloaded once with
# `apt-get download` and unpacked with dpkg-deb (no install hooks) into a
# cache folder of the build tree; a busybox initramfs carries the
# module chain of one module, the programs given and their libraries
# (found with ldd).  The guest runs /guest.sh and powers off; its serial
# console is the result.

: "${CNX_KERNEL_CACHE:=$abs_top_builddir/tests/kernel/cache}"

# cnx_kernel_fetch: sets CNX_KVER and CNX_KROOT (the unpacked package);
# skips the test when no kernel package can be had.
cnx_kernel_fetch() {
    local pkg deb
    mkdir -p "$CNX_KERNEL_CACHE" || cnx_fail "cannot create $CNX_KERNEL_CACHE"
    deb=$(ls "$CNX_KERNEL_CACHE"/linux-image-*-amd64_*.deb 2>/dev/null | sort -V | tail -1)
    if [ -z "$deb" ]; then
        cnx_need_cmd apt-get apt-cache dpkg-deb
        pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
              awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
        [ -n "$pkg" ] || pkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' 2>/dev/null |
                               awk '{ print $1 }' | sort -V | tail -1)
        [ -n "$pkg" ] || cnx_skip "no Debian linux-image-*-amd64 package is known to apt"
        ( cd "$CNX_KERNEL_CACHE" && apt-get download "$pkg" ) >"$CNX_KERNEL_CACHE/download.log" 2>&1 ||
            cnx_skip "cannot download $pkg (see $CNX_KERNEL_CACHE/download.log)"
        deb=$(ls "$CNX_KERNEL_CACHE"/linux-image-*-amd64_*.deb 2>/dev/null | sort -V | tail -1)
        [ -n "$deb" ] || cnx_skip "apt-get download $pkg produced no package"
    fi
    CNX_KROOT="$CNX_KERNEL_CACHE/root-$(basename "$deb" .deb)"
    if [ ! -d "$CNX_KROOT/lib/modules" ]; then
        rm -rf "$CNX_KROOT.tmp"
        mkdir -p "$CNX_KROOT.tmp"
        # only the kernel and the module folders the wireguard chain
        # can come from (a fraction of the package)
        dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$CNX_KROOT.tmp" --wildcards \
            './boot/vmlinuz-*' './lib/modules/*/modules.builtin*' \
            './lib/modules/*/modules.order' './lib/modules/*/kernel/net/*' \
            './lib/modules/*/kernel/lib/*' './lib/modules/*/kernel/arch/*' \
            './lib/modules/*/kernel/crypto/*' './lib/modules/*/kernel/drivers/net/wireguard/*' ||
            cnx_fail "cannot unpack $deb"
        mv "$CNX_KROOT.tmp" "$CNX_KROOT"
    fi
    CNX_KVER=$(ls "$CNX_KROOT/lib/modules" | head -1)
    [ -f "$CNX_KROOT/boot/vmlinuz-$CNX_KVER" ] || cnx_fail "no vmlinuz-$CNX_KVER in $deb"
    [ -f "$CNX_KROOT/lib/modules/$CNX_KVER/modules.dep" ] ||
        depmod -b "$CNX_KROOT" "$CNX_KVER" || cnx_fail "depmod failed for $CNX_KVER"
}

# _cnx_copy_with_libs ROOT FILE [DEST]: copy an executable and the shared
# libraries it needs (resolved with the current LD_LIBRARY_PATH).
_cnx_copy_with_libs() {
    local root=$1 f=$2 dest=${3:-$2} lib d
    mkdir -p "$root$(dirname "$dest")"
    cp -L "$f" "$root$dest" || return 1
    for lib in $(ldd "$f" 2>/dev/null | awk '/=> \// { print $3 } /^\t\// { print $1 }'); do
        d=$lib
        case "$lib" in
        /lib/*|/lib64/*|/usr/lib/*) ;;
        *) d="/lib/$(basename "$lib")" ;;   # from the build tree
        esac
        [ -e "$root$d" ] && continue
        mkdir -p "$root$(dirname "$d")"
        cp -L "$lib" "$root$d" || return 1
    done
}

# cnx_initramfs_build OUT MODULE GUEST_SCRIPT DATA_DIR PROG...
# PROG is SOURCE[:NAME]: installed as /bin/NAME.
cnx_initramfs_build() {
    local out=$1 module=$2 script=$3 data=$4 root p src name m
    shift 4
    root=$(mktemp -d "${TMPDIR:-/tmp}/cnx-initramfs.XXXXXXXX")
    mkdir -p "$root"/{bin,proc,sys,dev,tmp,run,var,lib/modules,data}
    ln -s ../run "$root/var/run"
    cp /bin/busybox "$root/bin/busybox" || cnx_fail "needs a static busybox"
    for p in "$@"; do
        src=${p%%:*}
        name=${p#*:}
        [ "$name" = "$p" ] && name=$(basename "$src")
        _cnx_copy_with_libs "$root" "$src" "/bin/$name" ||
            { rm -rf "$root"; cnx_fail "cannot copy $src into the initramfs"; }
    done
    : >"$root/modules.order"
    for m in $(modprobe -d "$CNX_KROOT" -S "$CNX_KVER" --show-depends "$module" |
               awk '$1 == "insmod" { print $2 }'); do
        cp "$m" "$root/lib/modules/" || cnx_fail "cannot copy module $m"
        echo "/lib/modules/$(basename "$m")" >>"$root/modules.order"
    done
    [ -s "$root/modules.order" ] || cnx_fail "no module chain for $module in $CNX_KVER"
    cp "$script" "$root/guest.sh"
    [ -n "$data" ] && cp -r "$data"/. "$root/data/"
    cat >"$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
for m in $(cat /modules.order); do
    insmod "$m" || echo "KTEST insmod failed: $m"
done
ip link set lo up
echo "KTEST BOOTED $(uname -r)"
bash /guest.sh
echo "KTEST DONE rc=$?"
poweroff -f
INIT
    chmod +x "$root/init"
    ( cd "$root" && find . | cpio -o -H newc --quiet | gzip -1 ) >"$out" ||
        { rm -rf "$root"; cnx_fail "cannot pack the initramfs"; }
    rm -rf "$root"
}

# cnx_qemu_run INITRAMFS CONSOLE_LOG [SECONDS]: boot and wait for power off.
cnx_qemu_run() {
    local initrd=$1 log=$2 limit=${3:-300}
    timeout "$limit" qemu-system-x86_64 -accel tcg -cpu max -m 768 -smp 1 \
        -nographic -no-reboot -nodefaults -serial stdio \
        -kernel "$CNX_KROOT/boot/vmlinuz-$CNX_KVER" -initrd "$initrd" \
        -append "console=ttyS0 panic=-1 quiet loglevel=3" \
        </dev/null >"$log" 2>&1
}
