//! `otklik route FILE`: a dry run of intake on one message, with the service's own facts.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use otklik_core::auth::Secret;
use otklik_core::config::{Config, SecretCheck};
use otklik_core::decide::{self, Decision, Facts};
use otklik_core::inbound::Inbound;
use otklik_core::intake;
use otklik_core::templates::local_time;
use otklik_core::triage::Triage;

use super::cases::DeadlinesJson;
use super::{Cli, Source, UserError, load_config, user};
use crate::control::{Request, Response};

#[derive(Debug, Default, Serialize)]
struct RouteJson {
    subject: String,
    from: Option<String>,
    verdict: String,
    notification: Option<intake::Notification>,
    duplicate_of: Option<String>,
    repeat_of: Option<String>,
    excluded_by: Option<String>,
    rule: Option<String>,
    executor: Option<String>,
    deadlines: Option<DeadlinesJson>,
    /// How a new post was routed: `rule`, `model` or `coordinator`.
    routed_by: Option<&'static str>,
    /// The routing model's confidence when it routed the post.
    confidence: Option<f64>,
    /// The post's words behind the model's choice.
    top_words: Vec<String>,
    /// The model's suggestions to the coordinator when it left the post to her.
    suggestions: Vec<otklik_core::routing::Suggestion>,
    /// An earlier case by another author about the same problem at the same place, flagged
    /// to the coordinator (`ПОВТОР` links it).
    #[serde(skip_serializing_if = "Option::is_none")]
    possible_repeat: Option<otklik_core::repeat::PossibleRepeat>,
}

pub(super) fn route(
    cli: &Cli,
    file: &Path,
    json: bool,
    out: &mut dyn Write,
) -> Result<(), UserError> {
    let config = Arc::new(load_config(&cli.config, SecretCheck::Lenient)?);
    let raw = std::fs::read(file).map_err(|e| user(format!("{}: {e}", file.display())))?;
    let mail = Inbound::parse(&raw).map_err(|e| user(format!("{}: {e}", file.display())))?;
    let now = Utc::now();
    let arrival = mail.date.unwrap_or(now);
    let (decision, facts) = service_decision(&config, &mail, now, arrival)?;
    let e = decision.explain(&config, &facts);
    let tz = config.calendar.timezone();
    let r = RouteJson {
        subject: mail.subject.clone(),
        from: mail.from.as_ref().map(|a| a.email.clone()),
        verdict: e.verdict,
        notification: e.notification,
        duplicate_of: e.duplicate_of,
        repeat_of: e.repeat_of,
        excluded_by: e.excluded_by,
        rule: e.rule,
        executor: e.executor,
        deadlines: e.deadlines.map(|d| DeadlinesJson {
            draft: d.draft.map(|t| t.with_timezone(&tz).to_rfc3339()),
            answer: d.answer.map(|t| t.with_timezone(&tz).to_rfc3339()),
            rework: None,
            final_: None,
        }),
        routed_by: e.routed_by,
        confidence: e.confidence,
        top_words: e.top_words,
        suggestions: e.suggestions,
        possible_repeat: e.possible_repeat,
    };
    print(&r, &config, json, out)
}

/// The service's own decision on this message at this moment: the message read once, the
/// same questions, the facts from the running daemon or its store, the same `decide`.
fn service_decision(
    config: &Config,
    mail: &Inbound,
    now: DateTime<Utc>,
    arrival: DateTime<Utc>,
) -> Result<(Decision, Facts), UserError> {
    let triage = Triage::new(mail, config, arrival);
    let questions = triage.questions(config);
    let source = Source::open(config).ok();
    let facts = match source
        .as_ref()
        .map(|s| s.ask(Request::Facts(Box::new(questions))))
    {
        Some(Ok(Response::Facts(f))) => *f,
        Some(Ok(_)) => return Err(user("unexpected answer from the daemon")),
        Some(Err(e)) => return Err(e),
        None => Facts::default(),
    };
    // The same model as the service: the starter model and the examples cases confirmed.
    let taught = match source.as_ref().map(|s| s.ask(Request::Training)) {
        Some(Ok(Response::Training(t))) => t,
        Some(Ok(_)) => return Err(user("unexpected answer from the daemon")),
        Some(Err(e)) => return Err(e),
        None => Vec::new(),
    };
    let model = otklik_core::learning::signals::trained(config.routing.starter.model(), &taught);
    // The proofs in replies need the service's key; without it (not readable here) a reply
    // shows as unproven.
    let secret = std::fs::read_to_string(config.service.state_dir.join("secret"))
        .map(|t| Secret::new(t.trim().as_bytes().to_vec()))
        .unwrap_or_else(|_| Secret::new(Vec::new()));
    let cx = decide::Setting {
        config,
        secret: &secret,
        now,
        arrival,
        model: Some(&model),
    };
    let decision = decide::decide_triaged(triage, &facts, &cx);
    Ok((decision, facts))
}

/// The dry run's result, as JSON or as lines.
fn print(r: &RouteJson, config: &Config, json: bool, out: &mut dyn Write) -> Result<(), UserError> {
    let io = |e: std::io::Error| user(format!("output: {e}"));
    if json {
        return writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&r).map_err(|e| user(e.to_string()))?
        )
        .map_err(io);
    }
    writeln!(out, "verdict:   {}", r.verdict).map_err(io)?;
    if let Some(n) = &r.notification {
        for (k, v) in [
            ("source_id", &n.source_id),
            ("topic", &n.topic),
            ("location", &n.location),
            ("category", &n.category),
            ("source", &n.source),
            ("link", &n.link),
            ("author", &n.author),
        ] {
            writeln!(out, "{k:<10} {}", v.as_deref().unwrap_or("-")).map_err(io)?;
        }
        writeln!(
            out,
            "{:<10} {}",
            "detected",
            local_time(config, n.detected_at)
        )
        .map_err(io)?;
        writeln!(out, "{:<10} {}", "repeat", n.repeat).map_err(io)?;
        writeln!(
            out,
            "{:<10} {}",
            "attached",
            n.attachments
                .iter()
                .map(|a| a.filename.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
        .map_err(io)?;
    }
    for (k, v) in [
        ("rule", &r.rule),
        ("executor", &r.executor),
        ("repeat_of", &r.repeat_of),
        ("excluded", &r.excluded_by),
    ] {
        if let Some(v) = v {
            writeln!(out, "{k:<10} {v}").map_err(io)?;
        }
    }
    if let Some(c) = r.confidence {
        writeln!(
            out,
            "{:<10} routing model, {:.0} % sure; by the words: {}",
            "model",
            c * 100.0,
            r.top_words.join(", ")
        )
        .map_err(io)?;
    }
    for s in &r.suggestions {
        writeln!(
            out,
            "{:<10} {} {} %; by the words: {}",
            "suggested",
            s.executor,
            s.probability.percent(),
            s.words.join(", ")
        )
        .map_err(io)?;
    }
    if let Some(d) = &r.deadlines {
        writeln!(
            out,
            "{:<10} {}",
            "draft due",
            d.draft.as_deref().unwrap_or("-")
        )
        .map_err(io)?;
        writeln!(
            out,
            "{:<10} {}",
            "answer due",
            d.answer.as_deref().unwrap_or("-")
        )
        .map_err(io)?;
    }
    if let Some(n) = &r.notification {
        writeln!(out, "text:\n{}", n.text).map_err(io)?;
    }
    Ok(())
}
