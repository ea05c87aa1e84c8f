#!/usr/bin/env bash
# Self-test of the offline Heat template validator (validate_template.py): the valid
# sample must pass on its own (exit 0) and, in one run over all samples, every invalid
# sample must fail with the kind of message Heat gives for its class of error.
#
# Usage: tests/openstack/validator_selftest.sh
# Installs the OpenStack virtualenv first if needed (tests/openstack/install.sh).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
samples="$here/validator_samples"
venv=$("$here/install.sh")
python="$venv/bin/python"
validator="$here/validate_template.py"

# sample file -> extended regular expression its INVALID message must match
declare -A expected=(
    [invalid-get-resource-target.json]='The specified reference "network" \(in master_port\.Properties\.network\) is incorrect'
    [invalid-get-attr-target.json]='outputs\.master_public_ip.*The specified reference "master_fip"'
    [invalid-get-param-target.json]='resources\.master\.properties\.flavor: The Parameter \(flavor\) was not provided'
    [invalid-unknown-property.json]='resources\.subnet\.properties: Unknown Property gateway'
    [invalid-missing-required-property.json]='resources\.router_interface\.properties: Property router not assigned'
    [invalid-wrong-property-type.json]='resources\.wait_condition\.properties\.timeout: could not convert string to float'
    [invalid-bad-cidr.json]='resources\.subnet\.properties\.cidr: .*Invalid net cidr'
    [invalid-unknown-resource-type.json]='The Resource Type \(OS::Neutron::Routr\) could not be found'
    [invalid-misspelt-function.json]="resources\.keypair\.properties\.public_key: Value must be a string; got \{'get_parm'"
    [invalid-misspelt-function-in-map.json]="'get_parm' is not an intrinsic function .*did you mean 'get_param'"
    [invalid-dependency-cycle.json]='Circular Dependency Found'
    [invalid-parameter-constraint.json]="Parameter 'slave_count' is invalid: 500 is out of range"
    [invalid-parameter-type.json]="Parameter 'slave_count' is invalid: could not convert string to float: 'abc'"
    [invalid-parameter-pattern.json]="Parameter 'cluster_name' is invalid: .* does not match pattern"
    [invalid-nested-template.json]='resources\.slaves<nested_stack>.*<slave\.yaml>.*The specified reference "slave_port"'
    [invalid-nested-missing-required-property.json]='resources\.slaves<nested_stack>.*<slave\.yaml>\.resources\.port\.properties: Property network not assigned'
    [invalid-nested-type-json-suffix.json]='The Resource Type \(slave\.json\) could not be found'
    [invalid-get-file-missing.json]='No content found in the "files" section for get_file path: install-spark\.sh'
)

failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# 1. The valid sample alone: exit 0 and "valid".
if out=$("$python" "$validator" "$samples/valid-cluster.json"); then
    [ "$out" = "$samples/valid-cluster.json: valid" ] || fail "valid sample: unexpected output: $out"
else
    fail "valid sample rejected (exit $?): $out"
fi

# 2. All samples in one run: exit 1, one line per file, each as expected.
files=()
for f in "$samples"/*.json; do
    files+=("$f")
    name=$(basename "$f")
    if [ "$name" != valid-cluster.json ] && [ -z "${expected[$name]+set}" ]; then
        fail "$name: no expected message in validator_selftest.sh"
    fi
done
start=$(date +%s.%N)
set +e
out=$("$python" "$validator" "${files[@]}")
status=$?
set -e
end=$(date +%s.%N)
[ "$status" -eq 1 ] || fail "run over all samples exited $status, expected 1"
[ "$(printf '%s\n' "$out" | wc -l)" -eq "${#files[@]}" ] ||
    fail "expected ${#files[@]} output lines, got: $out"

for f in "${files[@]}"; do
    name=$(basename "$f")
    line=$(printf '%s\n' "$out" | grep -F -- "$f: " || true)
    if [ "$name" = valid-cluster.json ]; then
        [ "$line" = "$f: valid" ] || fail "$name: expected valid, got: $line"
        continue
    fi
    pattern=${expected[$name]:-}
    [ -n "$pattern" ] || continue
    case "$line" in
        "$f: INVALID: "*) ;;
        *) fail "$name: expected INVALID, got: $line"; continue ;;
    esac
    message=${line#"$f: INVALID: "}
    if ! grep -Eq -- "$pattern" <<<"$message"; then
        fail "$name: message does not match /$pattern/: $message"
    fi
done

# 3. Usage errors exit 2.
set +e
"$python" "$validator" >/dev/null 2>&1
status=$?
set -e
[ "$status" -eq 2 ] || fail "no arguments: exited $status, expected 2"

elapsed=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", e - s }')
if [ "$failures" -ne 0 ]; then
    echo "validator self-test: $failures failure(s)" >&2
    exit 1
fi
echo "validator self-test: ok (${#files[@]} samples validated in one run in ${elapsed}s)"
