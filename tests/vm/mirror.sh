#!/usr/bin/env bash
# Builds the artifact mirror (frameworks.mirror) of the VM tests: a Spark binary
# distribution, laid out as Apache's spark-<version>-bin-hadoop3.tgz, made from PyPI's
# pyspark source distribution (which carries Spark's jars, scripts and Python examples).
# Cached: ${DISCO_VM_CACHE:-~/.cache/disco/vm}/mirror-<key>, <key> from the version and this
# script; pyspark itself is downloaded once into .../pypi.
#
# Usage: tests/vm/mirror.sh VERSION   (prints the mirror directory; its SHA256SUMS names the
#                                      tarball's checksum, which the test gives disco as a
#                                      user would: icclab.disco.components.spark.sha256)
set -euo pipefail

cache=${DISCO_VM_CACHE:-$HOME/.cache/disco/vm}
version=${1:?usage: mirror.sh VERSION}
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "mirror.sh: bad version $version" >&2; exit 2; }
say() { printf 'mirror.sh: %s\n' "$*" >&2; }

key=$( { printf '%s\n' "$version"; cat "${BASH_SOURCE[0]}"; } | sha256sum | cut -c 1-16)
out="$cache/mirror-$key"
name="spark-$version-bin-hadoop3"
if [ -s "$out/$name.tgz" ] && [ -s "$out/SHA256SUMS" ]; then
    say "cached: $out"
    printf '%s\n' "$out"
    exit 0
fi
t0=$SECONDS
sdist="$cache/pypi/pyspark-$version.tar.gz"
if [ ! -s "$sdist" ]; then
    say "downloading pyspark $version from PyPI"
    mkdir -p "$cache/pypi"
    python3 -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: \
        -d "$cache/pypi" "pyspark==$version" >&2
fi
work=$(mktemp -d "$cache/mirror-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
tar -xzf "$sdist" -C "$work"
src="$work/pyspark-$version"
dist="$work/$name"
mkdir -p "$dist/python/lib" "$dist/examples/src/main"
for dir in bin sbin jars data licenses; do
    mv "$src/deps/$dir" "$dist/$dir"
done
mv "$src/deps/examples" "$dist/examples/src/main/python"
cp "$src"/lib/*.zip "$dist/python/lib/"
printf 'Spark %s built for Hadoop 3 (from PyPI pyspark %s, for disco VM tests)\n' "$version" "$version" > "$dist/RELEASE"
mkdir -p "$work/out"
tar -C "$work" -cf - "$name" | gzip -1 > "$work/out/$name.tgz"
(cd "$work/out" && sha256sum "$name.tgz" > SHA256SUMS)
rm -rf "$out"
mv "$work/out" "$out"
say "built $out/$name.tgz ($(du -h "$out/$name.tgz" | cut -f 1)) in $((SECONDS - t0)) s"
printf '%s\n' "$out"
