//! The runtime's apt and download handling on a fresh VM (frameworks/lib/runtime.sh): empty
//! package lists, the dpkg lock held by apt-daily, failing mirrors, and failures that say what
//! failed. apt-get and curl are stubs that play those situations.

use crate::sandbox::*;

/// No waiting between attempts in these tests.
const FAST: [(&str, &str); 1] = [("DISCO_APT_BACKOFF_SECS", "0")];

/// A master with only base, whose installer installs python3.
fn base_sandbox() -> Sandbox {
    let mut sandbox = Sandbox::new(1);
    sandbox.listen(0, 8084);
    sandbox
}

/// A stub that fails its first `failures` calls (counted in a file) with `message`.
fn failing_first(failures: u32, message: &str, status: u32) -> String {
    format!(
        r#"count_file="$DISCO_STUB_LOG.count.${{0##*/}}"
n=$(cat "$count_file" 2> /dev/null || echo 0); n=$((n + 1)); echo "$n" > "$count_file"
if [ "$n" -le {failures} ]; then printf '%s\n' {message} >&2; exit {status}; fi"#,
        message = bash_quote(message),
    )
}

fn bash_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[test]
fn package_lists_are_refreshed_once_before_the_first_install() {
    let sandbox = base_sandbox();
    let run = sandbox.deploy_with(0, &[("shell", &[])], &FAST);
    assert!(run.success, "{}", run.output);
    let apt: Vec<String> = run.calls_to("apt-get").iter().map(|c| c.line()).collect();
    assert!(
        apt.len() == 2 && apt[0].contains(" update --error-on=any") && apt[1].contains(" install "),
        "{apt:#?}"
    );
    let log = run.file("var/log/disco/deployment.log");
    assert!(log.contains("refreshing the package lists"), "{log}");
}

#[test]
fn a_held_dpkg_lock_is_waited_for_and_said() {
    let sandbox = base_sandbox();
    sandbox.stub(
        "apt-get",
        &failing_first(
            2,
            "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 812 (unattended-upgr)",
            100,
        ),
    );
    let run = sandbox.deploy_with(0, &[], &FAST);
    assert!(run.success, "{}", run.output);
    let log = run.file("var/log/disco/deployment.log");
    assert!(
        log.contains("waiting for the dpkg lock (Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 812 (unattended-upgr))")
            && log.contains("got the dpkg lock after waiting"),
        "{log}"
    );
    assert_eq!(run.calls_to("apt-get").len(), 4, "{:?}", run.calls);
}

#[test]
fn the_wait_for_the_dpkg_lock_is_bounded() {
    let sandbox = base_sandbox();
    sandbox.stub(
        "apt-get",
        &failing_first(
            1000,
            "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 77 (apt-get)",
            100,
        ),
    );
    let mut env = FAST.to_vec();
    env.push(("DISCO_APT_LOCK_WAIT_SECS", "3"));
    let run = sandbox.deploy_with(0, &[], &env);
    assert!(!run.success);
    let reason = run.status["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains(
            "refreshing the package lists (apt-get update): the dpkg lock is still held after 3 s"
        ) && reason.contains("held by process 77 (apt-get)"),
        "{reason}"
    );
}

#[test]
fn a_failing_mirror_is_tried_again_with_backoff() {
    let sandbox = base_sandbox();
    sandbox.stub(
        "apt-get",
        &failing_first(
            2,
            "Err:1 http://deb.debian.org/debian bookworm InRelease\n  Temporary failure resolving 'deb.debian.org'",
            100,
        ),
    );
    let run = sandbox.deploy_with(0, &[], &FAST);
    assert!(run.success, "{}", run.output);
    let log = run.file("var/log/disco/deployment.log");
    assert!(
        log.contains("failed (attempt 1 of 4), again in 0 s: Err:1 http://deb.debian.org/debian bookworm InRelease"),
        "{log}"
    );
}

#[test]
fn apt_gives_up_after_its_attempts_and_names_the_step_and_its_error() {
    let sandbox = base_sandbox();
    sandbox.stub(
        "apt-get",
        r#"for a in "$@"; do [ "$a" = install ] && { echo 'E: Failed to fetch http://deb.debian.org/debian/pool/main/p/python3.11.deb  503  Service Unavailable' >&2; exit 100; }; done; exit 0"#,
    );
    let run = sandbox.deploy_with(0, &[], &FAST);
    assert!(!run.success);
    let reason = run.status["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("installing packages python3 failed 4 times: E: Failed to fetch http://deb.debian.org/debian/pool/main/p/python3.11.deb"),
        "{reason}"
    );
    let log = run.file("var/log/disco/deployment.log");
    assert!(log.contains(reason), "{log}");
}

#[test]
fn a_package_apt_does_not_know_fails_at_once_naming_it() {
    let sandbox = base_sandbox();
    sandbox.stub(
        "apt-get",
        r#"for a in "$@"; do [ "$a" = install ] && { echo 'E: Unable to locate package python3' >&2; exit 100; }; done; exit 0"#,
    );
    let run = sandbox.deploy_with(0, &[], &FAST);
    assert!(!run.success);
    let reason = run.status["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("installing packages python3: E: Unable to locate package python3"),
        "{reason}"
    );
    // One update, one install: no retry can fix an unknown name.
    assert_eq!(run.calls_to("apt-get").len(), 2, "{:?}", run.calls);
}

const SPARK_TARBALL: &str = "spark-3.5.5-bin-hadoop3.tgz";

/// A Spark slave whose curl answers the download with `code`, or serves the tarball.
fn spark_download(code: Option<&str>) -> Run {
    let mut sandbox = Sandbox::new(1);
    // The master's Spark master, which lists the slave's worker as alive.
    sandbox.listen(0, 7077);
    let answer = match code {
        Some(code) => format!(
            "echo 'curl: (22) The requested URL returned error: {code}' >&2; printf {code}; exit 22"
        ),
        None => "printf 200".to_string(),
    };
    sandbox.stub(
        "curl",
        &format!(
            r#"for a in "$@"; do case "$a" in */json/) printf '{{"workers":[{{"host":"%s","state":"ALIVE"}}]}}' "$DISCO_NODE_ADDR"; exit 0;; esac; done
out=""; prev=""; for a in "$@"; do [ "$prev" = -o ] && out=$a; prev=$a; done
[ -z "$out" ] || printf '%s' {SPARK_TARBALL} > "$out"
{answer}"#
        ),
    );
    let sha = sha256_hex(SPARK_TARBALL.as_bytes());
    sandbox.deploy_with(1, &[("spark", &[("sha256", &sha)])], &FAST)
}

#[test]
fn downloads_have_a_connect_timeout_an_overall_limit_and_retries() {
    let run = spark_download(None);
    assert!(run.success, "{}", run.output);
    let download = run.assert_called("curl", &["-o", SPARK_TARBALL]);
    let line = download.line();
    for part in [
        "--connect-timeout 20",
        "--max-time 1800",
        "--retry 3",
        "--retry-connrefused",
    ] {
        assert!(line.contains(part), "{part} not in {line}");
    }
}

#[test]
fn a_failed_download_names_its_url_and_the_answer() {
    let run = spark_download(Some("404"));
    assert!(!run.success);
    let reason = run.status["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains(&format!(
            "cannot download https://archive.apache.org/dist/spark/spark-3.5.5/{SPARK_TARBALL}: \
             curl: (22) The requested URL returned error: 404 (HTTP 404)"
        )),
        "{reason}"
    );
}
