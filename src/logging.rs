//! Logs: tracing. Under systemd with stderr connected to the journal (`JOURNAL_STREAM` names
//! stderr's device and inode), events go to journald natively, each field its own journal
//! field (`journalctl -u otklik CASE=OTK-42`), with the level as the priority. Otherwise
//! human-readable lines on stderr (colours only on a terminal), or JSON lines with
//! `--log-format json`. Level from `RUST_LOG`, else the default given.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::cli::LogFormat;

/// Sets up logging in `format`, at `default_level` unless `RUST_LOG` says otherwise.
pub fn init(format: LogFormat, default_level: &str) {
    let filter = || {
        EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| EnvFilter::new(format!("otklik={default_level},warn")))
    };
    let under_journald = stderr_is_journal();
    if format == LogFormat::Auto && under_journald {
        match tracing_journald::layer() {
            Ok(layer) => {
                let layer = layer
                    .with_syslog_identifier("otklik".to_string())
                    .with_field_prefix(None);
                // A second init (tests starting the daemon twice) keeps the first subscriber.
                let _ = tracing_subscriber::registry()
                    .with(filter())
                    .with(layer)
                    .try_init();
                return;
            }
            Err(e) => eprintln!("otklik: journald socket unavailable ({e}); logging to stderr"),
        }
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_writer(std::io::stderr);
    let result = match (format, under_journald) {
        (LogFormat::Json, _) => builder.json().flatten_event(true).try_init(),
        // The journal stamps each line itself.
        (LogFormat::Auto, true) => builder
            .without_time()
            .with_ansi(false)
            .with_target(false)
            .try_init(),
        _ => builder
            .with_ansi(std::io::stderr().is_terminal())
            .with_target(false)
            .try_init(),
    };
    let _ = result;
}

/// Is stderr the journal stream systemd set up (`JOURNAL_STREAM=DEV:INODE` of fd 2)?
/// A child that inherited the variable but writes elsewhere must not use journald.
#[allow(unsafe_code)] // one libc call, see SAFETY below
fn stderr_is_journal() -> bool {
    let Some(value) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = value.to_str().and_then(|v| v.split_once(':')) else {
        return false;
    };
    let (Ok(dev), Ok(ino)) = (dev.parse::<u64>(), ino.parse::<u64>()) else {
        return false;
    };
    // SAFETY: fstat(2) writes into the zeroed stat we own; fd 2 may be closed (then -1).
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::fstat(2, &mut st) };
    rc == 0 && st.st_dev == dev && st.st_ino == ino
}
