//! Logs: tracing to stderr; journald-friendly (no timestamps, level prefixes systemd
//! understands) when `JOURNAL_STREAM` is set, human-readable otherwise, JSON on request.
//! Level from `RUST_LOG`, else the default given.

use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

pub fn init(format: LogFormat, default_level: &str) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("otklik={default_level},warn")));
    let under_journald = std::env::var_os("JOURNAL_STREAM").is_some();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match (format, under_journald) {
        (LogFormat::Json, _) => builder.json().flatten_event(true).try_init(),
        (LogFormat::Auto, true) => builder
            .without_time()
            .with_ansi(false)
            .with_target(false)
            .try_init(),
        _ => builder.with_target(false).try_init(),
    };
    // A second init (tests starting the daemon twice) keeps the first subscriber.
    let _ = result;
}
