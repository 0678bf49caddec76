//! The commands that need no case data: `generate`, `check-config`, `deadline`,
//! `check-store`.

use std::io::Write;
use std::path::Path;

use otklik_core::calendar::WorkDuration;
use otklik_core::config::SecretCheck;

use super::{Cli, Generated, UserError, generate, load_config, parse_time, user};
use crate::store::Store;

/// `otklik generate WHAT [DIR]`: to stdout, or every man page into DIR.
pub(super) fn generate_cmd(
    what: Generated,
    dir: Option<&Path>,
    out: &mut dyn Write,
) -> Result<(), UserError> {
    let io = |e: std::io::Error| user(format!("output: {e}"));
    match (what, dir) {
        (Generated::Man, Some(dir)) => {
            use clap::CommandFactory;
            clap_mangen::generate_to(Cli::command(), dir)
                .map_err(|e| user(format!("{}: {e}", dir.display())))
        }
        _ => generate(what, out).map_err(io),
    }
}

/// `otklik check-config`.
pub(super) fn check_config(cli: &Cli, out: &mut dyn Write) -> Result<(), UserError> {
    let io = |e: std::io::Error| user(format!("output: {e}"));
    load_config(&cli.config, SecretCheck::Lenient)?;
    writeln!(out, "ok").map_err(io)
}

/// `otklik deadline --from TIME --add DURATION`.
pub(super) fn deadline(
    cli: &Cli,
    from: &str,
    add: &str,
    out: &mut dyn Write,
) -> Result<(), UserError> {
    let io = |e: std::io::Error| user(format!("output: {e}"));
    let config = load_config(&cli.config, SecretCheck::Lenient)?;
    let tz = config.calendar.timezone();
    let start = parse_time(from, tz)?;
    let d: WorkDuration = add.parse().map_err(|e| user(format!("--add: {e}")))?;
    let end = config.calendar.add(start, d);
    if config
        .calendar
        .is_predicted(end.with_timezone(&tz).date_naive())
    {
        tracing::warn!("the deadline falls in a year whose production calendar is only predicted");
    }
    writeln!(out, "{}", end.with_timezone(&tz).to_rfc3339()).map_err(io)
}
/// `otklik check-store`: every record read once; the damaged ones listed.
pub(super) fn check_store(cli: &Cli, out: &mut dyn Write) -> Result<(), UserError> {
    let io = |e: std::io::Error| user(e.to_string());
    let config = load_config(&cli.config, SecretCheck::Lenient)?;
    let dir = &config.service.state_dir;
    if !dir.join("store").exists() {
        return Err(user(format!("{}: no store yet", dir.display())));
    }
    let store = Store::open(dir).map_err(|e| {
        user(format!(
            "{e}; stop the service first (systemctl stop otklik)"
        ))
    })?;
    let (records, problems) = store.check().map_err(|e| user(e.to_string()))?;
    for p in &problems {
        writeln!(out, "damaged: {p}").map_err(io)?;
    }
    writeln!(out, "{records} records read, {} damaged", problems.len()).map_err(io)?;
    if problems.is_empty() {
        Ok(())
    } else {
        Err(user(format!("{} damaged records", problems.len())))
    }
}
