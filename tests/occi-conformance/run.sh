#!/usr/bin/env bash
# Runs pOCCI (CESNET's OCCI compliance suite, https://github.com/CESNET/pOCCI) against disco.
#
#   tests/occi-conformance/run.sh       builds disco, starts it on a free port (local backend),
#                                       creates one shell cluster in tenant `default`, runs
#                                       every pOCCI test, deletes the tenant's clusters, stops
#   tests/occi-conformance/run.sh URL   the same against a disco already listening at URL,
#                                       without the adapted DELETE test (it deletes whichever
#                                       cluster it lists first); tenant `default` needs a
#                                       ready cluster for the tests that read, update or act
#
# pOCCI is Python 2. Its 1.0.3 release is fetched from PyPI (checksum pinned), ported with 2to3
# (PyPI's fissix) and port.py, and cached under ~/.cache/disco/pocci/; none of its code is in
# this repository. The only network access is PyPI. Each test runs with pOCCI as published
# (ported only) and with its two parser bugs fixed (port.py --fix-parser), in text/plain and
# text/occi. Prints one line per test and rendering; pOCCI's JSON and stderr go to $POCCI_OUT
# (default: a temporary directory). README.md says which failures are disco's and which are
# pOCCI's. Exits 0 unless the run itself breaks.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

version=1.0.3
sha256=f8db7fe143b067e9fec354303fe539518ade0de949a0c3284490d3ab6834d8a4
url=https://files.pythonhosted.org/packages/31/a5/47a9d4aa0a9c27218082906e80c61e1b47e713238b52420fb79a575e8a57/pOCCI-$version.tar.gz
port_sum=$(sha256sum "$here/port.py" | cut -c1-12)
cache=${POCCI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/disco/pocci/$version-${sha256:0:12}-$port_sum}
py=$cache/venv/bin/python

kind_scheme='http://schemas.cloudcomplab.ch/occi/sm#'

# --- pOCCI, ported once, as published and with its parser bugs fixed -----------------------
if [ ! -e "$cache/ready" ]; then
    echo "porting pOCCI $version to Python 3 in $cache"
    rm -rf "$cache"
    mkdir -p "$cache"
    curl -sSfL "$url" -o "$cache/pOCCI-$version.tar.gz"
    echo "$sha256  $cache/pOCCI-$version.tar.gz" | sha256sum -c --quiet
    tar -xzf "$cache/pOCCI-$version.tar.gz" -C "$cache"
    python3 -m venv "$cache/venv"
    "$cache/venv/bin/pip" install -q --disable-pip-version-check pycurl==7.49.0 fissix==24.4.24
    "$py" -m fissix -w -n --no-diffs "$cache/pOCCI-$version/pOCCI" > "$cache/2to3.log" 2>&1
    for variant in published fixed; do
        mkdir -p "$cache/$variant"
        cp -r "$cache/pOCCI-$version/pOCCI" "$cache/$variant/"
    done
    "$py" "$here/port.py" "$cache/published/pOCCI"
    "$py" "$here/port.py" --fix-parser "$cache/fixed/pOCCI"
    touch "$cache/ready"
fi

out=${POCCI_OUT:-$(mktemp -d /tmp/pocci-results.XXXXXX)}
mkdir -p "$out"
work=$(mktemp -d /tmp/pocci-run.XXXXXX)
server=""
base=""
cleanup() {
    # Deletes every cluster of tenant `default` on the server this script started.
    if [ -n "$server" ]; then
        local urls u
        urls=$(curl -s "$base/disco/" -H 'Accept: text/uri-list') || urls=""
        for u in $urls; do
            curl -s -o /dev/null -X DELETE "$u" || true
        done
        for u in $urls; do
            for _ in $(seq 1 120); do
                [ "$(curl -s -o /dev/null -w '%{http_code}' "$u")" = 404 ] && break
                sleep 0.5
            done
        done
        kill "$server" 2> /dev/null || true
        wait "$server" 2> /dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# --- disco -------------------------------------------------------------------------------
if [ $# -ge 1 ]; then
    base=${1%/}
else
    (cd "$repo" && cargo build -q)
    target=$(cd "$repo" && cargo metadata --format-version 1 --no-deps \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    cat > "$work/disco.cfg" << EOF
[server]
bind = 127.0.0.1:$port
[store]
data_dir = $work/var
[local]
address_range = ${POCCI_ADDRESS_RANGE:-127.93.0.0/24}
[frameworks]
dir = $repo/frameworks
EOF
    "$target/debug/disco" serve --config "$work/disco.cfg" > "$out/disco.log" 2>&1 &
    server=$!
    base=http://127.0.0.1:$port
    for _ in $(seq 1 100); do
        curl -sf -o /dev/null "$base/-/" && break
        sleep 0.2
    done
    curl -sf -o /dev/null "$base/-/"

    # One cluster in tenant `default` (pOCCI sends no X-Tenant-Name), for the tests that read,
    # update or act on an existing entity.
    cluster=$(curl -sS -D - -o /dev/null -X POST "$base/disco/" \
        -H "Category: disco; scheme=\"$kind_scheme\"; class=\"kind\"" \
        -H 'Content-Type: text/occi' \
        -H "X-OCCI-Attribute: icclab.disco.dependencies.inject=\"{'shell': ''}\", icclab.disco.components.heat.slavecount=\"1\"" \
        | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
    [ -n "$cluster" ] || { echo "creating the cluster failed" >&2; exit 1; }
    echo "cluster: $cluster"
fi

# Waits until no cluster of tenant `default` is in a transitional state and resumes a suspended
# one, so that each test meets a ready cluster (CORE/MISC/001 suspends it).
state_of() {
    curl -s "$1" | sed -n 's/^X-OCCI-Attribute: icclab.disco.state="\(.*\)"$/\1/p'
}
settle() {
    local urls u state
    urls=$(curl -s "$base/disco/" -H 'Accept: text/uri-list') || return 0
    for u in $urls; do
        for _ in $(seq 1 240); do
            state=$(state_of "$u") || state=""
            case $state in
                pending | building | scaling | suspending | resuming) sleep 0.5 ;;
                suspended)
                    curl -s -o /dev/null -X POST "$u?action=resume" -H 'Content-Type: text/occi' \
                        -H "Category: resume; scheme=\"${kind_scheme%#}/disco/action#\"; class=\"action\"" || true
                    sleep 0.5
                    ;;
                *) break ;;
            esac
        done
    done
}

# --- pOCCI -------------------------------------------------------------------------------
mkdir -p "$work/home"
cat > "$work/home/.pOCCI.cfg" << EOF
[main]
url = '$base'
authtype = 'none'
mimetype = 'text/plain'
outputformat = 'json'
curlverbose = False
connectiontimeout = 10
timeout = 60
occi.tests.category = {'term': 'disco', 'scheme': '$kind_scheme', 'class': 'kind'}
occi.tests.entity = {}
EOF
variant=fixed
pocci() {
    HOME=$work/home PYTHONHASHSEED=0 PYTHONPATH=$cache/$variant "$py" -m "$@"
}

settle
mapfile -t tests < <(pocci pOCCI.pOCCI -l)
for variant in published fixed; do
    for mime in text/plain text/occi; do
        for test in "${tests[@]}"; do
            name=$(echo "$variant-$test-$mime" | tr '/' '_')
            pocci pOCCI.pOCCI -m "$mime" -f json -t "$test" > "$out/$name.json" 2> "$out/$name.err" || true
            settle
        done
    done
done

# CORE/DELETE/001 with its kind lookup pointed at disco (adapted.py). It deletes the first
# cluster it lists, not necessarily the one it created, so only on a server started here.
if [ -n "$server" ]; then
    for mime in text/plain text/occi; do
        name=$(echo "adapted-OCCI/CORE/DELETE/001-$mime" | tr '/' '_')
        HOME=$work/home PYTHONHASHSEED=0 PYTHONPATH=$cache/fixed "$py" "$here/adapted.py" "$mime" \
            > "$out/$name.json" 2> "$out/$name.err" || true
        settle
    done
fi

# pOCCI's parser on disco's renderings: the query interface, a collection and a resource.
parse() { # <name> <type> <input mime> <curl arguments...>
    local name=$1 type=$2 mime=$3 output=text/plain
    shift 3
    # pOCCI-parse cannot render an empty collection as text/plain; a URI list it can.
    [ "$type" = entities ] && output=text/uri-list
    curl -s "$@" > "$work/message"
    for variant in published fixed; do
        if pocci pOCCI.pOCCI_parse -t "$type" -i "$mime" -o "$output" < "$work/message" \
            > "$out/$variant-parse-$name.out" 2> "$out/$variant-parse-$name.err"; then
            echo "$variant parse/$name OK" >> "$out/parse.txt"
        else
            echo "$variant parse/$name FAIL $(tr '\n' ' ' < "$out/$variant-parse-$name.err")" >> "$out/parse.txt"
        fi
    done
}
: > "$out/parse.txt"
entity=$(curl -s "$base/disco/" -H 'Accept: text/uri-list' | head -n 1) || true
parse query-plain categories text/plain "$base/-/" -H 'Accept: text/plain'
parse query-occi categories text/occi -D - -o /dev/null "$base/-/" -H 'Accept: text/occi'
parse collection-plain entities text/plain "$base/disco/" -H 'Accept: text/plain'
parse collection-occi entities text/occi -D - -o /dev/null "$base/disco/" -H 'Accept: text/occi'
parse collection-urilist entities text/uri-list "$base/disco/" -H 'Accept: text/uri-list'
if [ -n "$entity" ]; then
    parse resource-plain resource text/plain "$entity" -H 'Accept: text/plain'
    parse resource-occi resource text/occi -D - -o /dev/null "$entity" -H 'Accept: text/occi'
fi

python3 - "$out" "${tests[@]}" << 'EOF'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])

def result(variant, test, mime):
    name = f"{variant}-{test}-{mime}".replace("/", "_")
    text = (out / f"{name}.json").read_text()
    try:
        r = json.loads(text)["tests"][0]
        return r["status"], "; ".join(map(str, r.get("reason", [])))
    except (ValueError, KeyError, IndexError):
        err = (out / f"{name}.err").read_text().strip().splitlines()
        return "ERROR", (text.strip() or (err[-1] if err else "no output"))

print(f"{'test':24} {'rendering':11} {'published':9} {'fixed':5} reason (fixed parser)")
for mime in ("text/plain", "text/occi"):
    for test in sys.argv[2:]:
        published, _ = result("published", test, mime)
        fixed, reason = result("fixed", test, mime)
        print(f"{test:24} {mime:11} {published:9} {fixed:5} {reason}")
for mime in ("text/plain", "text/occi"):
    if (out / f"adapted-OCCI_CORE_DELETE_001-{mime.replace('/', '_')}.json").exists():
        status, reason = result("adapted", "OCCI/CORE/DELETE/001", mime)
        print(f"{'adapted CORE/DELETE/001':24} {mime:11} {'-':9} {status:5} {reason}")
print((out / "parse.txt").read_text(), end="")
EOF
echo "pOCCI output: $out"
