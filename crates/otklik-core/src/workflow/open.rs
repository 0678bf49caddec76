//! Opening a case for a new notification: the first executor (by rule, model or nobody),
//! the mails that announce it, and the assignment a later step may repeat.

use std::collections::BTreeSet;

use super::{
    Case, Classification, Ctx, HistoryEvent, Notice, NoticeKind, Outcome, State, entry,
    initial_deadlines, local_date,
};
use crate::intake::Notification;
use crate::routing;
use crate::routing::{Assignee, Suggestion};

/// Opens case number `number` for a notification (docs/notifications.md).
pub fn open(number: u64, n: Notification, class: Classification, ctx: Ctx<'_>) -> Outcome {
    let config = ctx.config;
    let mut case = new_case(number, n, ctx);
    let mut notices = Vec::new();
    let date = local_date(config, ctx.now);

    let mut suggestions = Vec::new();
    let (wanted, how, repeat_unmatched) = match class {
        Classification::Excluded { matched } => return excluded(case, matched, ctx),
        Classification::Repeat {
            of,
            executor,
            earlier_answer,
        } => {
            case.repeat_of = Some(of.clone());
            case.earlier_answer = earlier_answer.clone();
            let detail = match &earlier_answer {
                Some(_) => format!("repeat of {of}; earlier answer quoted"),
                None => format!("repeat of {of}"),
            };
            case.history
                .push(entry(ctx.now, HistoryEvent::Repeat, "otklik", detail));
            (executor, format!("repeat of {of}"), false)
        }
        Classification::Routed {
            rule,
            executor,
            repeat_unmatched,
        } => (Some(executor), format!("rule «{rule}»"), repeat_unmatched),
        Classification::Modelled {
            executor,
            confidence,
            top_words,
            repeat_unmatched,
        } => (
            Some(executor),
            format!(
                "routing model, {} %: {}",
                confidence.percent(),
                top_words.join(", ")
            ),
            repeat_unmatched,
        ),
        Classification::Unmatched {
            repeat_unmatched,
            suggestions: s,
        } => {
            suggestions = s;
            (None, String::new(), repeat_unmatched)
        }
    };
    if repeat_unmatched {
        notices.push(Notice {
            to: vec![ctx.coordinator()],
            kind: NoticeKind::RepeatUnmatched,
        });
    }
    match wanted.map(|w| routing::resolve(config, ctx.absences, &w, date)) {
        Some(assignee) if assignee.executor().is_some() => {
            assign_to(&mut case, &assignee, "otklik", &how, ctx, &mut notices);
            if config.people.coordinator.new_cases {
                notices.push(Notice {
                    to: vec![ctx.coordinator()],
                    kind: NoticeKind::CaseOpened,
                });
            }
        }
        Some(Assignee::Nobody { absent }) => {
            let reason = format!("{absent} is absent and no deputy is available");
            unassigned(&mut case, reason, Vec::new(), ctx, &mut notices);
        }
        _ => {
            let reason = unassigned_reason(&case, &suggestions);
            unassigned(&mut case, reason, suggestions, ctx, &mut notices);
        }
    }
    Outcome {
        case,
        notices,
        accepted: true,
    }
}

/// The new case as the notification opens it, its creation in the history.
fn new_case(number: u64, n: Notification, ctx: Ctx<'_>) -> Case {
    let config = ctx.config;
    let id = format!("{}-{}", config.service.case_prefix, number);
    let deadlines = initial_deadlines(config, &n);
    let mut case = Case {
        number,
        id,
        state: State::Unassigned,
        executor: None,
        repeat_of: None,
        earlier_answer: None,
        similar: Vec::new(),
        possible_repeat: None,
        possible_abuse: None,
        deadlines,
        draft: None,
        approved: None,
        history: Vec::new(),
        fired: BTreeSet::new(),
        first_draft_at: None,
        answered_at: None,
        published_at: None,
        awaiting_publication: None,
        final_approved_at: None,
        final_published_at: None,
        final_draft_at: None,
        closed_at: None,
        approval_round: 0,
        notification: n,
    };
    let summary = format!(
        "{} — {}",
        case.notification.topic.as_deref().unwrap_or("-"),
        case.notification.location.as_deref().unwrap_or("-")
    );
    case.history
        .push(entry(ctx.now, HistoryEvent::Created, "monitoring", summary));
    case
}

/// A new case not to be answered under clause 12: closed at once, the coordinator told.
fn excluded(mut case: Case, matched: String, ctx: Ctx<'_>) -> Outcome {
    case.state = State::Excluded;
    case.closed_at = Some(ctx.now);
    case.history.push(entry(
        ctx.now,
        HistoryEvent::Excluded,
        "otklik",
        format!("clause 12 lexicon: {matched}"),
    ));
    Outcome {
        case,
        notices: vec![Notice {
            to: vec![ctx.coordinator()],
            kind: NoticeKind::Excluded { matched },
        }],
        accepted: true,
    }
}

/// Why nobody got a new case no absence explains.
fn unassigned_reason(case: &Case, suggestions: &[Suggestion]) -> String {
    // A repeat of a case nobody held: the coordinator gets it as a repeat (cl. 10).
    match (&case.repeat_of, suggestions.first()) {
        (Some(of), _) => format!("repeat of {of}, which has no executor"),
        (None, Some(best)) => format!(
            "no routing rule matched and the routing model is not sure enough \
             (best guess {} at {} %)",
            best.executor,
            best.probability.percent()
        ),
        (None, None) => "no routing rule matched".to_string(),
    }
}

/// A new case left to the coordinator to assign, with the reason and the model's guesses.
fn unassigned(
    case: &mut Case,
    reason: String,
    suggestions: Vec<Suggestion>,
    ctx: Ctx<'_>,
    notices: &mut Vec<Notice>,
) {
    case.history.push(entry(
        ctx.now,
        HistoryEvent::Unassigned,
        "otklik",
        reason.clone(),
    ));
    notices.push(Notice {
        to: vec![ctx.coordinator()],
        kind: NoticeKind::NeedsAssignment {
            reason,
            suggestions,
        },
    });
}

/// Makes sure the coordinator (her deputy while she is away) hears of a new case flagged as
/// a possible repeat: her new-case notice (or the request to assign) carries the flag; when
/// she would get neither (`people.coordinator.new_cases` off), she gets the new-case notice
/// for it.
pub fn flag_to_coordinator(outcome: &mut Outcome, ctx: Ctx<'_>) {
    // Whoever acts as the coordinator now: her deputy while she is away.
    let coordinator = &ctx.coordinator();
    let told = outcome.notices.iter().any(|n| {
        n.to.contains(coordinator)
            && matches!(
                n.kind,
                NoticeKind::CaseOpened | NoticeKind::NeedsAssignment { .. }
            )
    });
    if !told {
        outcome.notices.push(Notice {
            to: vec![coordinator.clone()],
            kind: NoticeKind::CaseOpened,
        });
    }
}

/// Gives the case to the resolved assignee: state, history, the mail to them.
pub(super) fn assign_to(
    case: &mut Case,
    assignee: &Assignee,
    by: &str,
    how: &str,
    ctx: Ctx<'_>,
    notices: &mut Vec<Notice>,
) {
    let Some(executor) = assignee.executor() else {
        return;
    };
    let absent = match assignee {
        Assignee::Deputy { absent, .. } => Some(absent.clone()),
        _ => None,
    };
    case.executor = Some(executor.to_string());
    // A new case; a reassignment has already reset the state it came from.
    if case.state == State::Unassigned {
        case.state = State::Assigned;
    }
    let mut detail = format!("to {executor}");
    if !how.is_empty() {
        detail.push_str(&format!(" ({how})"));
    }
    if let Some(a) = &absent {
        detail.push_str(&format!(", on behalf of absent {a}"));
    }
    case.history
        .push(entry(ctx.now, HistoryEvent::Assigned, by, detail));
    if let Some(email) = ctx.executor_email(executor) {
        notices.push(Notice {
            to: vec![email.clone()],
            kind: NoticeKind::NewCase { absent },
        });
        case.history
            .push(entry(ctx.now, HistoryEvent::Forwarded, "otklik", email));
    }
}
