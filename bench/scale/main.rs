//! `bench/scale.sh`'s binary: the scale bench against the FAKE cloud of `bench/fake_cloud.rs`.
//! Usage: scale <disco binary> [stored] [in flight] [stack delay secs]
//!        scale --post <disco binary> [creates]   (accept latency of creates sent one by one)

#[path = "../fake_cloud.rs"]
#[allow(dead_code)]
mod fake_openstack;
mod run;

use std::path::PathBuf;
use std::time::Duration;

fn main() {
    let mut args: Vec<String> = std::env::args().collect();
    let post = args.get(1).is_some_and(|a| a == "--post");
    if post {
        args.remove(1);
    }
    let number = |i: usize, default: u64| -> u64 {
        args.get(i).map_or(default, |a| {
            a.parse().unwrap_or_else(|_| {
                eprintln!("`{a}` is not a whole number");
                std::process::exit(2)
            })
        })
    };
    let Some(disco) = args.get(1).map(PathBuf::from) else {
        eprintln!("usage: scale <disco binary> [stored] [in flight] [stack delay secs]");
        std::process::exit(2)
    };
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let work = std::env::temp_dir().join(format!("disco-scale-{}", std::process::id()));
    let settings = run::Settings {
        disco,
        repo,
        stored: number(2, 10_000) as usize,
        in_flight: number(3, 1_000) as usize,
        latency: Duration::from_millis(50),
        stack_delay: Duration::from_secs(number(4, 20)),
        idle: Duration::from_secs(30),
        get: Duration::from_secs(10),
        concurrency: 64,
        work_dir: work.clone(),
    };
    if post {
        let count = number(2, 40) as usize;
        let outcome = run::post_latencies(&settings, count);
        let _ = std::fs::remove_dir_all(&work);
        match outcome {
            Ok((mut latencies, report)) if report.errors == 0 && latencies.len() == count => {
                println!(
                    "disco POST against the fake cloud, {count} back to back: median {:.2} ms, p90 {:.2} ms, p99 {:.2} ms",
                    run::percentile(&mut latencies, 0.5),
                    run::percentile(&mut latencies, 0.9),
                    run::percentile(&mut latencies, 0.99)
                );
            }
            Ok((_, report)) => {
                eprintln!("creates failed: {}", report.error_samples.join("; "));
                std::process::exit(1);
            }
            Err(e) => {
                eprintln!("the POST bench could not run: {e}");
                std::process::exit(2);
            }
        }
        return;
    }
    let outcome = run::run(&settings);
    if matches!(&outcome, Ok(report) if report.errors == 0) {
        let _ = std::fs::remove_dir_all(&work);
    } else {
        eprintln!("disco's data and log are kept in {}", work.display());
    }
    match outcome {
        Ok(report) => {
            eprintln!(
                "built: {} stored in {:.0} s ({} server threads), {} in flight in {:.0} s; ready-seen median {:.2} s",
                report.stored,
                report.store_build_s,
                report.threads,
                report.in_flight,
                report.in_flight_build_s,
                report.ready_seen_median_s
            );
            for error in &report.error_samples {
                eprintln!("error: {error}");
            }
            println!("{report}");
            if report.errors > 0 {
                std::process::exit(1);
            }
        }
        Err(e) => {
            eprintln!("the scale bench could not run: {e}");
            std::process::exit(2);
        }
    }
}
