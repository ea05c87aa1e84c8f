#!/usr/bin/env bash
# Builds the apt repository the VM tests' nodes install from: exactly the Debian packages the
# installers ask for that the image lacks (with their dependencies), taken from Debian's
# packages with this machine's apt, indexed as a flat repository (Packages, Release). The
# VMs reach it only through a QEMU forward to a server on this machine's loopback.
# Cached: ${DISCO_VM_CACHE:-~/.cache/disco/vm}/repo-<key>, <key> from the image, the package
# list and this script.
#
# Usage: tests/vm/repo.sh IMAGE_DIR PACKAGE...   (as root; prints the repository directory)
set -euo pipefail

cache=${DISCO_VM_CACHE:-$HOME/.cache/disco/vm}
image=${1:?usage: repo.sh IMAGE_DIR PACKAGE...}
shift
[ "$#" -gt 0 ] || { echo "repo.sh: no packages named" >&2; exit 2; }
say() { printf 'repo.sh: %s\n' "$*" >&2; }
# Without the image's dpkg database apt would fetch a whole system.
[ -s "$image/dpkg-status" ] || { say "$image has no dpkg-status: not an image of image.sh"; exit 2; }

key=$( { printf '%s\n' "$(basename "$image")" "$@"; cat "${BASH_SOURCE[0]}"; } | sha256sum | cut -c 1-16)
out="$cache/repo-$key"
if [ -s "$out/Packages" ] && [ -s "$out/Release" ]; then
    say "cached: $out"
    printf '%s\n' "$out"
    exit 0
fi
mkdir -p "$cache"
work=$(mktemp -d "$cache/repo-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/repo/partial"
# apt resolves against the image's dpkg database, so it downloads what the image lacks.
download() {
    DEBIAN_FRONTEND=noninteractive apt-get -q -y --download-only \
        -o Dir::State::status="$image/dpkg-status" \
        -o Dir::Cache::archives="$work/repo" -o Debug::NoLocking=1 \
        install "$@" > "$work/apt.log" 2>&1
}
t0=$SECONDS
if ! download "$@"; then
    say "refreshing this machine's package lists and trying again"
    apt-get update -qq > /dev/null 2>&1 || true
    download "$@" || {
        cat "$work/apt.log" >&2
        exit 1
    }
fi
rmdir "$work/repo/partial"
rm -f "$work/repo/lock"
(
    cd "$work/repo"
    dpkg-scanpackages -m . /dev/null > Packages 2> /dev/null
    gzip -9 -k Packages
    {
        printf 'Origin: disco-vm-test\nLabel: disco-vm-test\nSuite: disco\nCodename: disco\n'
        printf 'Date: %s\nArchitectures: amd64 all\nSHA256:\n' "$(LC_ALL=C date -Ru)"
        for file in Packages Packages.gz; do
            printf ' %s %s %s\n' "$(sha256sum "$file" | cut -d ' ' -f 1)" "$(stat -c %s "$file")" "$file"
        done
    } > Release
)
rm -rf "$out"
mv "$work/repo" "$out"
say "built $out: $(find "$out" -name '*.deb' | wc -l) packages, $(du -sh "$out" | cut -f 1), $((SECONDS - t0)) s"
printf '%s\n' "$out"
