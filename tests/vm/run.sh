#!/usr/bin/env bash
# The real-VM test of the cloud profile (see tests/vm/README.md): builds (or takes from
# ~/.cache/disco/vm) a Debian 12 image, the apt repository and the Spark mirror the VMs use,
# starts a real Keystone + Heat of its own (tests/openstack/cloud.sh, state in
# /tmp/disco-vm-openstack, ports 5100/8104/8190/5772), builds disco, and runs vm_test.py, which
# plays Nova with QEMU VMs and checks what a user sees. Ends with "N passed, N failed".
#
# Usage: tests/vm/run.sh [--stop] [--no-spark]
#   --stop      stop the test cloud afterwards
#   --no-spark  only base and shell (faster)
# Needs root (debootstrap) or sudo; installs its host tools with apt-get when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo_root=$(pwd)

stop=false
spark=--spark
for arg in "$@"; do
    case "$arg" in
        --stop) stop=true ;;
        --no-spark) spark="" ;;
        *)
            echo "usage: $0 [--stop] [--no-spark]" >&2
            exit 2
            ;;
    esac
done
say() { printf 'vm/run.sh: %s\n' "$*" >&2; }
t0=$SECONDS
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"

# Host tools, all from Debian's packages.
declare -A tool_package=([qemu-system-x86_64]=qemu-system-x86 [qemu-img]=qemu-utils
    [socat]=socat [debootstrap]=debootstrap [genisoimage]=genisoimage
    [dpkg-scanpackages]=dpkg-dev [mkfs.ext4]=e2fsprogs [ssh]=openssh-client [pgrep]=procps)
missing_packages() {
    local tool
    for tool in "${!tool_package[@]}"; do
        PATH="$PATH:/usr/sbin:/sbin" command -v "$tool" > /dev/null || echo "${tool_package[$tool]}"
    done
}
# Twice: installing one package may remove another. A fresh machine's qemu-img comes from
# bookworm-backports, and apt removes it to install bookworm's qemu-system-x86; the second
# pass brings back bookworm's qemu-utils.
for pass in 1 2; do
    mapfile -t missing < <(missing_packages)
    [ "${#missing[@]}" -gt 0 ] || break
    say "installing ${missing[*]} (pass $pass)"
    [ "$pass" = 2 ] || $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" > /dev/null
done
mapfile -t missing < <(missing_packages)
if [ "${#missing[@]}" -gt 0 ]; then
    say "still missing after installing: ${missing[*]}"
    exit 1
fi

cache=${DISCO_VM_CACHE:-$HOME/.cache/disco/vm}
export DISCO_VM_CACHE=$cache
t=$SECONDS
image=$($sudo env DISCO_VM_CACHE="$cache" PATH="$PATH:/usr/sbin:/sbin" tests/vm/image.sh | tail -n 1)
[ -s "$image/base.img" ] || { say "no image in '$image'"; exit 1; }
say "image ready in $((SECONDS - t)) s: $image"
# What the installers of base, shell and spark ask apt for (frameworks/*/): the repository
# holds these and whatever they need that the image lacks.
t=$SECONDS
repo=$($sudo env DISCO_VM_CACHE="$cache" tests/vm/repo.sh "$image" python3 curl openjdk-17-jre-headless | tail -n 1)
[ -s "$repo/Packages" ] || { say "no apt repository in '$repo'"; exit 1; }
say "apt repository ready in $((SECONDS - t)) s: $repo"
t=$SECONDS
mirror=$(tests/vm/mirror.sh 3.5.5 | tail -n 1)
[ -s "$mirror/SHA256SUMS" ] || { say "no Spark mirror in '$mirror'"; exit 1; }
say "Spark mirror ready in $((SECONDS - t)) s: $mirror"

# A cloud of its own, beside the one of tests/openstack/run.sh: Heat names the host
# cloud.disco.test in wait condition URLs, which the VMs resolve to their forward to here, and
# tokens live an hour, Keystone's default (wait condition handles sign with one: emulated
# VMs can take longer than the other cloud's 10 minutes).
export DISCO_OPENSTACK_STATE=/tmp/disco-vm-openstack DISCO_OPENSTACK_KEYSTONE_PORT=5100 \
    DISCO_OPENSTACK_HEAT_PORT=8104 DISCO_OPENSTACK_FAKE_PORT=8190 DISCO_OPENSTACK_AMQP_PORT=5772 \
    DISCO_OPENSTACK_HEAT_PUBLIC_HOST=cloud.disco.test DISCO_OPENSTACK_TOKEN_SECS=3600
t=$SECONDS
venv=$(tests/openstack/install.sh)
tests/openstack/cloud.sh start
say "cloud ready in $((SECONDS - t)) s"
t=$SECONDS
cargo build --quiet --bin disco
disco="${CARGO_TARGET_DIR:-$repo_root/target}/debug/disco"
say "disco built in $((SECONDS - t)) s"

work=$(mktemp -d /tmp/disco-vm-test.XXXXXX)
status=0
# shellcheck disable=SC2086 # $spark is one flag or none
"$venv/bin/python" tests/vm/vm_test.py --image "$image" --repo "$repo" --mirror "$mirror" \
    --disco "$disco" --cloud-state "$DISCO_OPENSTACK_STATE" --work "$work" \
    --repo-root "$repo_root" $spark || status=$?
if $stop; then
    tests/openstack/cloud.sh stop
fi
say "VM test finished in $((SECONDS - t0)) s (work directory $work)"
if [ "$status" = 0 ]; then
    rm -rf "$work/vms"
fi
exit "$status"
