//! The reports over a date range: `report` and `routing-report`.

use std::io::Write;

use chrono::Utc;

use otklik_core::config::SecretCheck;
use otklik_core::report;
use otklik_core::workflow;

use super::{Cli, ReportFormat, Source, UserError, load_config, parse_date, user};

/// `otklik report --from DATE --to DATE [--format F]`.
pub(super) fn report(
    cli: &Cli,
    from: &str,
    to: &str,
    format: ReportFormat,
    out: &mut dyn Write,
) -> Result<(), UserError> {
    let io = |e: std::io::Error| user(format!("output: {e}"));
    let config = load_config(&cli.config, SecretCheck::Lenient)?;
    let (from, to) = (parse_date(from)?, parse_date(to)?);
    if to < from {
        return Err(user("--to is before --from"));
    }
    let cases = Source::open(&config)?.cases(true)?;
    let rows = report::build_at(&config, &cases, from, to, Some(Utc::now()));
    let text = match format {
        ReportFormat::Table => report::table(&config, &rows),
        ReportFormat::Csv => report::csv(&config, &rows),
        ReportFormat::Json => report::json(&rows),
    };
    out.write_all(text.as_bytes()).map_err(io)
}

/// `otklik routing-report [--from DATE] [--to DATE] [--json]`.
pub(super) fn routing_report(
    cli: &Cli,
    from: Option<&str>,
    to: Option<&str>,
    json: bool,
    out: &mut dyn Write,
) -> Result<(), UserError> {
    let io = |e: std::io::Error| user(format!("output: {e}"));
    let config = load_config(&cli.config, SecretCheck::Lenient)?;
    let cases = Source::open(&config)?.cases(true)?;
    let today = workflow::local_date(&config, Utc::now());
    let from = match from {
        Some(d) => parse_date(d)?,
        None => cases
            .iter()
            .map(|c| workflow::local_date(&config, c.notification.detected_at))
            .min()
            .unwrap_or(today),
    };
    let to = match to {
        Some(d) => parse_date(d)?,
        None => today.max(from),
    };
    if to < from {
        return Err(user("--to is before --from"));
    }
    let r = otklik_core::learning::report::build(&config, &cases, from, to);
    if json {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&r).map_err(|e| user(e.to_string()))?
        )
        .map_err(io)
    } else {
        out.write_all(otklik_core::learning::report::text(&r).as_bytes())
            .map_err(io)
    }
}
