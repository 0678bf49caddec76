//! Every input the fuzzers (`fuzz/`, cargo-fuzz) ever crashed on is kept in
//! `tests/data/fuzz/<target>/` and replayed here through the very code the fuzz target
//! runs (`fuzz/harness.rs`); so are the seeds of the fuzz corpora (the sample
//! notifications, the reply corpus, the example config).

#[path = "../fuzz/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != ".gitkeep"))
            .collect(),
        Err(e) => panic!("{}: {e}", dir.display()),
    };
    out.sort();
    out
}

fn replay(target: &str, seeds: &[&str], run: fn(&[u8])) -> usize {
    let mut n = 0;
    let mut crashed = Vec::new();
    let mut dirs = vec![root().join("tests/data/fuzz").join(target)];
    dirs.extend(seeds.iter().map(|s| root().join(s)));
    for dir in dirs {
        for f in files(&dir) {
            let data = std::fs::read(&f).unwrap();
            eprintln!("{target}: {}", f.display());
            // Every input runs, and the failure lists all that panic.
            if std::panic::catch_unwind(|| run(&data)).is_err() {
                crashed.push(f.display().to_string());
            }
            n += 1;
        }
    }
    assert!(
        crashed.is_empty(),
        "{target}: {} of {n} inputs panic:\n{}",
        crashed.len(),
        crashed.join("\n")
    );
    n
}

#[test]
fn notification_inputs_do_not_crash_the_parser() {
    let n = replay(
        "notification",
        &["tests/data/notifications"],
        harness::notification,
    );
    assert!(n >= 9, "only {n} inputs");
}

#[test]
fn reply_inputs_do_not_crash_the_parser() {
    let n = replay("reply", &["tests/data/replies"], harness::reply);
    assert!(n >= 40, "only {n} inputs");
}

#[test]
fn config_inputs_do_not_crash_the_loader() {
    let n = replay("config", &["config", "tests/data/config"], harness::config);
    assert!(n >= 2, "only {n} inputs");
}
