//! The archive of earlier answers: `archive import` and `similar`.

use std::io::Write;
use std::path::Path;

use chrono::Utc;
use serde::Serialize;

use otklik_core::config::SecretCheck;
use otklik_core::decide;
use otklik_core::inbound::Inbound;
use otklik_core::intake;

use super::{Cli, Source, UserError, load_config, user};
use crate::control::{self, Request, Response};
use crate::store::Store;
/// `otklik archive import FILE`: the file read whole first (a bad row: its line, nothing
/// imported); then written by the running service over its socket, or into the store.
pub(super) fn archive_import(cli: &Cli, file: &Path, out: &mut dyn Write) -> Result<(), UserError> {
    use otklik_core::archive::import::{self, Format};
    let config = load_config(&cli.config, SecretCheck::Lenient)?;
    let bytes = std::fs::read(file).map_err(|e| user(format!("{}: {e}", file.display())))?;
    let format = Format::detect(&file.to_string_lossy(), &bytes);
    let rows = import::parse_rows(&bytes, format)
        .map_err(|e| user(format!("{}: {e}; nothing imported", file.display())))?;
    let dir = &config.service.state_dir;
    let req = Request::ArchiveImport { rows };
    let resp = if control::ask(dir, &Request::Status).is_some() {
        control::ask(dir, &req).ok_or_else(|| user("the daemon stopped answering"))?
    } else {
        let store = Store::open(dir).map_err(|e| {
            user(format!(
                "{e}; if the service runs, its control socket did not answer"
            ))
        })?;
        control::answer(&store, &req)
    };
    match resp {
        Response::Imported { count } => {
            writeln!(out, "{count} imported").map_err(|e| user(format!("output: {e}")))
        }
        Response::Error(e) => Err(user(format!("{}: {e}", file.display()))),
        _ => Err(user("unexpected answer from the daemon")),
    }
}

/// One earlier answer as `otklik similar --json` prints it.
#[derive(Debug, Serialize)]
struct SimilarJson<'a> {
    id: &'a str,
    score: f64,
    topic: &'a str,
    location: &'a str,
    text: &'a str,
    answer: &'a str,
}

/// `otklik similar [--json] FILE.eml`: the notification read as `route` reads it, the
/// archive asked (the running service's, else one built from the store), the threshold
/// applied as for a new case.
pub(super) fn similar(
    cli: &Cli,
    file: &Path,
    json: bool,
    out: &mut dyn Write,
) -> Result<(), UserError> {
    let config = load_config(&cli.config, SecretCheck::Lenient)?;
    let raw = std::fs::read(file).map_err(|e| user(format!("{}: {e}", file.display())))?;
    let mail = Inbound::parse(&raw).map_err(|e| user(format!("{}: {e}", file.display())))?;
    let arrival = mail.date.unwrap_or_else(Utc::now);
    let questions = decide::questions(&mail, &config, arrival);
    let query = match questions.similar_to {
        Some(q) => q,
        None => {
            // Not from a monitoring sender: still read it as a notification if it is one.
            let n = intake::parse_notification(
                &mail,
                &config.intake.labels,
                config.intake.source_timezone,
                arrival,
            )
            .map_err(|e| user(format!("{}: not a notification: {e}", file.display())))?;
            otklik_core::archive::Query {
                text: n.text,
                topic: n.topic.unwrap_or_default(),
                location: n.location.unwrap_or_default(),
            }
        }
    };
    let found = match Source::open(&config) {
        Ok(source) => match source.ask(Request::Similar(Box::new(query)))? {
            Response::Similar(s) => s,
            _ => return Err(user("unexpected answer from the daemon")),
        },
        // No store yet: nothing archived.
        Err(_) => Vec::new(),
    };
    let offered = otklik_core::archive::offered(&found, config.archive.threshold, "");
    let io = |e: std::io::Error| user(format!("output: {e}"));
    if json {
        let views: Vec<SimilarJson> = offered
            .iter()
            .map(|s| SimilarJson {
                id: &s.id,
                score: (s.score * 1000.0).round() / 1000.0,
                topic: &s.topic,
                location: &s.location,
                text: &s.text,
                answer: &s.answer,
            })
            .collect();
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&views).map_err(|e| user(e.to_string()))?
        )
        .map_err(io)
    } else if offered.is_empty() {
        writeln!(
            out,
            "nothing above the threshold {}",
            config.archive.threshold
        )
        .map_err(io)
    } else {
        for s in &offered {
            writeln!(
                out,
                "{}  {:.2}  {} — {}\n  {}\n  > {}",
                s.id,
                s.score,
                s.topic,
                s.location,
                s.text.replace('\n', " "),
                s.answer.replace('\n', "\n  > ")
            )
            .map_err(io)?;
        }
        Ok(())
    }
}
