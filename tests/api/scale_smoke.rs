//! The scale bench (`bench/scale.sh`, `bench/scale/run.rs`) at 100 clusters, so that it keeps
//! working: disco's openstack backend and keystone auth against the fake cloud with 50 ms
//! answers. It asserts what the bench asserts (every cluster ready, with the fake's address,
//! never before its stack completed, no failed request) and that every figure was measured;
//! the figures themselves are the bench's business, not a test's.

use crate::scale_bench::{post_latencies, run, Settings};
use crate::support::repo_root;
use std::time::Duration;

#[test]
fn the_scale_bench_builds_a_hundred_clusters_without_an_error() {
    let work = tempfile::tempdir().expect("temp dir");
    let settings = Settings {
        disco: env!("CARGO_BIN_EXE_disco").into(),
        repo: repo_root(),
        stored: 100,
        in_flight: 100,
        latency: Duration::from_millis(50),
        stack_delay: Duration::from_secs(3),
        idle: Duration::from_secs(3),
        get: Duration::from_secs(2),
        concurrency: 16,
        work_dir: work.path().to_path_buf(),
    };
    let report = run(&settings).expect("the bench runs");
    eprintln!("{report}");
    assert_eq!(
        report.errors,
        0,
        "{report}\n{}\n{}",
        report.error_samples.join("\n"),
        std::fs::read_to_string(work.path().join("disco.log")).unwrap_or_default()
    );
    assert!(report.list_ms > 0.0 && report.get_p99_ms > 0.0, "{report}");
    assert!(
        report.rss_mb > 1.0 && report.idle_cpu_percent >= 0.0,
        "{report}"
    );
    assert!(report.ready_seen_p99_s >= 0.0, "{report}");
    assert!(report.heat_calls_per_cluster_min > 0.0, "{report}");
    let line = report.to_string();
    assert!(
        line.starts_with("100 clusters: list ")
            && line.contains("; 100 in flight: ready-seen p99 "),
        "{line}"
    );
}

#[test]
fn the_post_bench_gets_a_201_for_every_create() {
    let work = tempfile::tempdir().expect("temp dir");
    let settings = Settings {
        disco: env!("CARGO_BIN_EXE_disco").into(),
        repo: repo_root(),
        stored: 0,
        in_flight: 0,
        latency: Duration::ZERO,
        stack_delay: Duration::from_secs(1),
        idle: Duration::ZERO,
        get: Duration::ZERO,
        concurrency: 1,
        work_dir: work.path().to_path_buf(),
    };
    let (latencies, report) = post_latencies(&settings, 10).expect("the bench runs");
    assert_eq!(report.errors, 0, "{}", report.error_samples.join("\n"));
    assert_eq!(latencies.len(), 10);
    assert!(latencies.iter().all(|ms| *ms > 0.0), "{latencies:?}");
}
