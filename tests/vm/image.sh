#!/usr/bin/env bash
# Builds the Debian 12 cloud image the VM tests boot: debootstrap from Debian's packages
# (kernel, systemd, cloud-init, openssh-server, python3, curl; no framework software), the
# tweaks a cloud image has (no host keys, no apt timers, empty package lists, NoCloud), a
# kernel and initrd for direct boot. Cached: ${DISCO_VM_CACHE:-~/.cache/disco/vm}/image-<key>,
# <key> from the package list, the suite, the mirror and this script, so a change to any of
# them builds a new image and an unchanged one is reused.
#
# Usage: tests/vm/image.sh   (as root; prints the image directory: base.img, vmlinuz,
#                             initrd.img, dpkg-status, packages.txt)
set -euo pipefail

cache=${DISCO_VM_CACHE:-$HOME/.cache/disco/vm}
suite=bookworm
# What a Debian cloud image has that the tests rely on; nothing a framework installs.
packages=(systemd-sysv udev kmod linux-image-amd64 initramfs-tools cloud-init
    python3-cffi-backend openssh-server python3 curl ca-certificates sudo ifupdown
    isc-dhcp-client netbase iproute2 e2fsprogs procps)

say() { printf 'image.sh: %s\n' "$*" >&2; }

# The Debian mirror this machine's apt uses (deb822 or one-line sources).
mirror() {
    local found
    found=$(sed -n 's/^URIs: *\(http[^ ]*\/debian\/\{0,1\}\) *$/\1/p' /etc/apt/sources.list.d/*.sources 2> /dev/null | head -n 1)
    [ -n "$found" ] || found=$(sed -n 's/^deb \(\[[^]]*\] \)\{0,1\}\(http[^ ]*\/debian\/\{0,1\}\) .*/\2/p' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2> /dev/null | head -n 1)
    printf '%s' "${found:-http://deb.debian.org/debian}"
}

url=$(mirror)
key=$( { printf '%s\n' "$suite" "$url" "${packages[@]}"; cat "${BASH_SOURCE[0]}"; } | sha256sum | cut -c 1-16)
out="$cache/image-$key"
if [ -s "$out/base.img" ] && [ -s "$out/vmlinuz" ] && [ -s "$out/initrd.img" ]; then
    say "cached: $out"
    printf '%s\n' "$out"
    exit 0
fi

[ "$(id -u)" = 0 ] || { say "building the image needs root (debootstrap, chroot)"; exit 1; }
for tool in debootstrap mkfs.ext4 chroot; do
    command -v "$tool" > /dev/null || { say "missing $tool (tests/vm/run.sh installs it)"; exit 1; }
done

mkdir -p "$cache"
work=$(mktemp -d "$cache/image-build.XXXXXX")
root="$work/root"
cleanup() {
    mountpoint -q "$root/proc" 2> /dev/null && umount "$root/proc"
    rm -rf "$work"
}
trap cleanup EXIT
t0=$SECONDS
list=$(IFS=,; printf '%s' "${packages[*]}")
say "debootstrap $suite from $url (${#packages[@]} packages and their dependencies)"
nice -n 10 debootstrap --variant=minbase --include="$list" "$suite" "$root" "$url" \
    > "$work/debootstrap.log" 2>&1 || {
    tail -n 30 "$work/debootstrap.log" >&2
    say "debootstrap failed"
    exit 1
}
say "debootstrap took $((SECONDS - t0)) s"

# What a cloud image is like on first boot, each line fixing something seen on this machine:
printf '/dev/vda / ext4 rw,errors=remount-ro 0 1\n' > "$root/etc/fstab"
: > "$root/etc/resolv.conf"            # debootstrap copied the host's
: > "$root/etc/machine-id"             # each VM makes its own
rm -f "$root"/etc/ssh/ssh_host_*       # each VM makes its own
rm -f "$root"/etc/systemd/system/timers.target.wants/apt-daily*.timer  # no reaching out on its own
rm -f "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin
# Empty package lists, as many cloud images ship: the installers must refresh them.
find "$root/var/lib/apt/lists" -maxdepth 1 -type f -delete
printf 'deb %s %s main\n' "$url" "$suite" > "$root/etc/apt/sources.list"
cat > "$root/etc/cloud/cloud.cfg.d/90-disco-test.cfg" << 'CFG'
# disco's VM tests: the seed disk (NoCloud) plays OpenStack's metadata service.
datasource_list: [ NoCloud, None ]
# cc_locale fails on update-locale LANG=en_US.UTF-8 without locales installed.
locale: C.UTF-8
# RSA, DSA and ECDSA key generation costs ~5 s under TCG.
ssh_genkeytypes: [ed25519]
# Keeps the cloud's host names (vendor data) in /etc/hosts and adds the VM's own.
manage_etc_hosts: localhost
CFG
# A small initrd with what QEMU's virtio disks and network need: first userspace 7 s -> 5 s.
sed -i 's/^MODULES=.*/MODULES=list/' "$root/etc/initramfs-tools/initramfs.conf"
printf '%s\n' virtio_pci virtio_blk virtio_net ext4 >> "$root/etc/initramfs-tools/modules"
mount -t proc proc "$root/proc"
chroot "$root" update-initramfs -u -k all > "$work/initramfs.log" 2>&1 || {
    cat "$work/initramfs.log" >&2
    exit 1
}
umount "$root/proc"

mkdir -p "$work/out"
cp "$(readlink -f "$root/vmlinuz")" "$work/out/vmlinuz"
cp "$(readlink -f "$root/initrd.img")" "$work/out/initrd.img"
# What the image has installed: the test's apt repository holds exactly what is missing.
cp "$root/var/lib/dpkg/status" "$work/out/dpkg-status"
# shellcheck disable=SC2016 # dpkg-query fields, not shell
chroot "$root" dpkg-query -W -f '${Package} ${Version}\n' > "$work/out/packages.txt"
# Sparse: 4 GiB of room for Java and Spark, ~0.9 GB allocated.
mkfs.ext4 -q -F -L root -d "$root" "$work/out/base.img" 4G > /dev/null
rm -rf "$out"
mv "$work/out" "$out"
say "built $out in $((SECONDS - t0)) s"
printf '%s\n' "$out"
