//! Requests a known person makes of the service itself: `МОИ ДЕЛА`, `ОТСУТСТВУЮ ДО`,
//! `НА МЕСТЕ`, and what each is answered.

use chrono::NaiveDate;

use super::{Decision, Facts, Setting};
use crate::config::Config;
use crate::reply::keyword::{self, Word};
use crate::reply::{Keyword, ParsedReply};
use crate::templates::{self};
use crate::workflow::{self, Case};

use super::codes::conflict_question;

/// `МОИ ДЕЛА`, `ОТСУТСТВУЮ ДО`, `НА МЕСТЕ` from a known person. `None` when the message is
/// no such request. Answers go only to the person's configured address.
pub(super) fn self_service(
    config: &Config,
    sender: &str,
    parsed: &ParsedReply,
    facts: &Facts,
    cx: &Setting<'_>,
    proven: bool,
) -> Option<Decision> {
    let (keyword, _) = parsed.keyword.as_ref()?;
    if sender.is_empty() {
        return None;
    }
    let coordinator = &config.people.coordinator;
    let overseer = sender == coordinator.email
        || config
            .people
            .supervisor
            .as_ref()
            .is_some_and(|s| s.email == sender);
    let executor = config.executor_by_email(sender);
    let address = match (overseer, executor) {
        (true, _) => sender.to_string(),
        (false, Some(e)) => e.email.clone(),
        _ => return None,
    };
    let refuse = |reason: &str| Some(service_refusal(config, &address, reason));
    let today = workflow::local_date(config, cx.now);
    // A request that would be taken, but its sender is not proven: ask them first.
    let en = config.service.language == crate::config::Language::En;
    let ask = |what: String| {
        Some(Decision::Confirm {
            to: address.clone(),
            note: format!("{what} from {sender} without proof: confirmation asked"),
            what,
        })
    };
    let date = |d: &NaiveDate| request_date(d, en);
    match keyword {
        Keyword::MyCases if !proven => ask(keyword::word(Word::MyCases, en).to_string()),
        Keyword::MyCases => Some(my_cases(config, facts, cx, &address, overseer, executor)),
        Keyword::AbsentUntil(until) if sender == coordinator.email => {
            if config.coordinator_deputy().is_none() {
                refuse("no deputy is set for you in the configuration (people.coordinator.deputy)")
            } else if *until < today {
                refuse("that date has passed")
            } else if *until > today + config.service.max_absence {
                refuse(&format!(
                    "an absence announced by mail may last at most {} days; record a longer one in the configuration (people.coordinator.absent)",
                    config.service.max_absence.num_days()
                ))
            } else if !proven {
                ask(absent_until_words(until, en))
            } else {
                Some(coordinator_absence(config, Some(*until), facts))
            }
        }
        Keyword::Back if sender == coordinator.email => {
            if !proven {
                ask(keyword::word(Word::Back, en).to_string())
            } else {
                Some(coordinator_absence(config, None, facts))
            }
        }
        Keyword::AbsentUntil(until) => match executor {
            None => refuse("ОТСУТСТВУЮ ДО / ABSENT UNTIL is for executors"),
            Some(e) if e.deputy.is_none() => {
                refuse("no deputy is set for you in the configuration; ask the coordinator")
            }
            Some(_) if *until < today => refuse("that date has passed"),
            Some(_) if *until > today + config.service.max_absence => refuse(&format!(
                "an absence announced by mail may last at most {} days; the coordinator can record a longer one in the configuration",
                config.service.max_absence.num_days()
            )),
            Some(_) if !proven => ask(absent_until_words(until, en)),
            Some(e) => Some(absence(config, e, Some(*until))),
        },
        Keyword::Back => match executor {
            None => refuse("НА МЕСТЕ / BACK is for executors"),
            Some(_) if !proven => ask(keyword::word(Word::Back, en).to_string()),
            Some(e) => Some(absence(config, e, None)),
        },
        Keyword::Report(from, until) if overseer && !proven => ask(format!(
            "{} {}-{}",
            keyword::word(Word::Report, en),
            date(from),
            date(until)
        )),
        Keyword::Report(from, until) if overseer => {
            Some(report(config, facts, cx, address.clone(), *from, *until))
        }
        Keyword::Report(..) => refuse("ОТЧЁТ / REPORT is for the coordinator and the supervisor"),
        Keyword::Invalid(what) => refuse(what),
        Keyword::Conflict { subject, body } => refuse(&conflict_question(subject, body)),
        _ => None,
    }
}

/// An executor away until a date (`Some`) or back (`None`): told, and the coordinator too.
pub(super) fn absence(
    config: &Config,
    e: &crate::config::Executor,
    until: Option<NaiveDate>,
) -> Decision {
    Decision::Service {
        mails: vec![
            (
                e.email.clone(),
                templates::render_absence(config, e, until, false),
            ),
            (
                config.people.coordinator.email.clone(),
                templates::render_absence(config, e, until, true),
            ),
        ],
        absences: vec![(e.id.clone(), until)],
        resend: Vec::new(),
        note: match until {
            Some(d) => format!("{} absent until {d}", e.id),
            None => format!("{} back", e.id),
        },
    }
}

/// The coordinator away until a date (`Some`) or back (`None`): she and her deputy are
/// told. Back, every draft waiting for approval is requested of her again (the requests
/// the deputy got carry the deputy's codes, not hers).
pub(super) fn coordinator_absence(
    config: &Config,
    until: Option<NaiveDate>,
    facts: &Facts,
) -> Decision {
    let coordinator = &config.people.coordinator;
    let deputy = config.coordinator_deputy();
    let mut mails = vec![(
        coordinator.email.clone(),
        templates::render_coordinator_absence(config, until, false),
    )];
    if let Some(d) = deputy.filter(|d| *d != coordinator.email) {
        mails.push((
            d,
            templates::render_coordinator_absence(config, until, true),
        ));
    }
    let resend: Vec<(Case, Vec<workflow::Notice>)> = match until {
        Some(_) => Vec::new(),
        None => facts
            .open_cases
            .iter()
            .filter(|c| c.state == workflow::State::DraftSubmitted)
            .map(|c| {
                (
                    c.clone(),
                    vec![workflow::Notice {
                        to: vec![coordinator.email.clone()],
                        kind: workflow::NoticeKind::ForApproval,
                    }],
                )
            })
            .collect(),
    };
    Decision::Service {
        mails,
        absences: vec![(crate::routing::COORDINATOR_ABSENCE.to_string(), until)],
        note: match until {
            Some(d) => format!("the coordinator absent until {d}"),
            None => format!(
                "the coordinator back; {} waiting draft(s) requested of her again",
                resend.len()
            ),
        },
        resend,
    }
}

/// A self-service request refused, with the reason, to the person's address.
fn service_refusal(config: &Config, address: &str, reason: &str) -> Decision {
    Decision::Service {
        mails: vec![(
            address.to_string(),
            templates::render_service_refusal(config, reason),
        )],
        absences: Vec::new(),
        resend: Vec::new(),
        note: format!("self-service refused: {reason}"),
    }
}

/// A date as a request to confirm writes it, in the service's language.
fn request_date(d: &NaiveDate, en: bool) -> String {
    if en {
        d.format("%Y-%m-%d").to_string()
    } else {
        d.format("%d.%m.%Y").to_string()
    }
}

/// `ОТСУТСТВУЮ ДО <date>` (or `ABSENT UNTIL <date>`), as a confirmation asks it back.
fn absent_until_words(until: &NaiveDate, en: bool) -> String {
    format!(
        "{} {} {}",
        keyword::word(Word::Absent, en),
        if en { "UNTIL" } else { "ДО" },
        request_date(until, en)
    )
}

/// `МОИ ДЕЛА`: the open cases of `executor` (every open case for the coordinator or the
/// supervisor, by executor), by next deadline, each with its action code for `address`.
fn my_cases(
    config: &Config,
    facts: &Facts,
    cx: &Setting<'_>,
    address: &str,
    overseer: bool,
    executor: Option<&crate::config::Executor>,
) -> Decision {
    let mut cases: Vec<&Case> = facts
        .open_cases
        .iter()
        .filter(|c| overseer || c.executor.as_deref() == executor.map(|e| e.id.as_str()))
        .collect();
    cases.sort_by_key(|c| (templates::next_deadline(c).map(|(_, t)| t), c.number));
    if overseer {
        cases.sort_by(|a, b| a.executor.cmp(&b.executor));
    }
    let items: Vec<templates::QueueItem<'_>> = cases
        .into_iter()
        .map(|c| templates::QueueItem {
            case: c,
            code: cx.secret.action_code(c.number, address),
        })
        .collect();
    let rendered =
        templates::render_queue(config, &items, overseer, cx.now, &config.smtp.from.email);
    Decision::Service {
        mails: vec![(address.to_string(), rendered)],
        absences: Vec::new(),
        resend: Vec::new(),
        note: format!("my cases: {} to {address}", items.len()),
    }
}

/// `ОТЧЁТ`: the report rows and the routing figures for `from..=until`, to `address`.
fn report(
    config: &Config,
    facts: &Facts,
    cx: &Setting<'_>,
    address: String,
    from: NaiveDate,
    until: NaiveDate,
) -> Decision {
    Decision::Report {
        note: format!("report {from}..{until} to {address}"),
        to: address,
        from,
        until,
        rows: crate::report::build_at(config, &facts.all_cases, from, until, Some(cx.now)),
        routing: crate::learning::report::FirstChoice::of(config, &facts.all_cases, from, until),
    }
}
