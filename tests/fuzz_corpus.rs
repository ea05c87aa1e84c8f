//! The fuzzers' corpus as an ordinary test on stable Rust: every file under
//! `fuzz/corpus/<target>/` goes through the same checks the fuzz targets run
//! (`fuzz/checks.rs`): no panic, and parse → render → parse gives the same value.

use disco::cluster::inject;
use disco::occi;
use std::path::{Path, PathBuf};

#[path = "../fuzz/checks.rs"]
mod checks;

/// Fewer files than this means the corpus went missing, not that all is well.
const MIN_FILES: usize = 20;

fn corpus_files(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("corpus entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// Runs `check` on every corpus file of `target`; fails naming each file that panicked.
fn run_corpus(target: &str, check: fn(&[u8])) {
    let files = corpus_files(target);
    assert!(
        files.len() >= MIN_FILES,
        "fuzz/corpus/{target} has {} files, expected at least {MIN_FILES}",
        files.len()
    );
    let failed: Vec<String> = files
        .iter()
        .filter(|path| {
            let data = std::fs::read(path).expect("read corpus file");
            std::panic::catch_unwind(|| check(&data)).is_err()
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} corpus files of {target} fail (reproduce with \
         `cargo +nightly fuzz run {target} <file>` in fuzz/):\n{}",
        failed.len(),
        files.len(),
        failed.join("\n")
    );
}

#[test]
fn occi_header_corpus_parses_without_panic_and_round_trips() {
    run_corpus("occi_headers", checks::occi_headers);
}

#[test]
fn occi_text_plain_corpus_parses_without_panic_and_round_trips() {
    run_corpus("occi_text_plain", checks::occi_text_plain);
}

#[test]
fn occi_json_corpus_parses_without_panic_and_round_trips() {
    run_corpus("occi_json", checks::occi_json);
}

#[test]
fn inject_corpus_parses_without_panic_and_round_trips() {
    run_corpus("inject", checks::inject);
}
