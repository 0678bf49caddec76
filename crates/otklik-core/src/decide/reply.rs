//! A reply to an existing case: who sent it, with what proof, asking what.

use super::codes::{
    MAX_CODES_TRIED, Proof, REFUSALS_IN_HISTORY, Refusals, conflict_question, set_refusal_round,
    without_codes,
};
use super::{Decision, Disposition};
use crate::auth::Secret;
use crate::inbound::Inbound;
use crate::reply::keyword::{self, Word};
use crate::reply::{Keyword, ParsedReply};
use crate::triage::{configured_person, sender};
use crate::workflow::{self, Action, Case, Ctx, DraftKind, Event, Role};

/// A reply to an existing case: who sent it, with what proof, asking what.
pub(super) fn reply_to_case(
    mail: &Inbound,
    case: &Case,
    parsed: ParsedReply,
    ctx: Ctx<'_>,
    secret: &Secret,
    domain: &str,
) -> Decision {
    let config = ctx.config;
    let sender = sender(mail);
    if sender.is_empty() {
        // No From, several, or one the SMTP library refuses: nobody can be recognised
        // and nobody can be answered.
        return Decision::reject(format!("reply to {} without a valid From address", case.id));
    }
    // Mail from anyone but the configured people is recorded in the ledger and set aside:
    // never answered (a forged From would turn our answer into mail to a stranger), and
    // never written into a case (no stream of it can grow one).
    if !configured_person(config, sender) {
        return Decision::reject(format!(
            "reply to {} from {sender}, who is no configured person: recorded, not answered",
            case.id
        ));
    }
    // A refusal goes into the case's history and is explained to the sender — at most once
    // a day per sender and case, and never to automatic mail. A sender refused on this case
    // again and again (an autoresponder without headers, a flood of forged replies) is only
    // recorded in the ledger, so that no stream of mail can grow a case without bound.
    let role = if sender == config.people.coordinator.email {
        Role::Coordinator
    } else if case
        .executor
        .as_deref()
        .and_then(|id| config.executor(id))
        .is_some_and(|e| e.email == sender)
    {
        Role::Executor
    } else if config.people.publisher.as_deref() == Some(sender) {
        Role::Publisher
    } else {
        Role::Other
    };
    let proof = Proof::of(mail, &parsed, case, sender, secret, domain);
    // The approval round a refusal mail carries: the one the refused reply answered, while
    // it is the current one (so that answering the refusal still acts on that draft).
    let refusal_round = proof
        .answered
        .filter(|&r| r == case.approval_round)
        .unwrap_or(0);
    let earlier = Refusals::of(case, sender, ctx.now);
    let refused = |reason: String, explain: bool| {
        if earlier.total >= REFUSALS_IN_HISTORY {
            return Decision::reject(format!(
                "{}: {reason} (refused {} times before; recorded in the ledger only)",
                case.id, earlier.total
            ));
        }
        let mut outcome = workflow::refuse(case.clone(), sender, reason.clone(), ctx);
        if !explain || earlier.today {
            outcome.notices.clear();
        }
        set_refusal_round(&mut outcome, refusal_round);
        Decision::Case {
            outcome: Box::new(outcome),
            new: false,
            class: None,
            disposition: Disposition::Rejected,
            note: reason,
        }
    };
    if let Some(why) = &mail.automatic {
        // Recorded, never answered.
        return refused(format!("automatic reply ignored ({why:?})"), false);
    }
    let refuse = |reason: String| refused(reason, true);
    if proof.answered.is_none() {
        return refuse(
            "the reply does not show that it answers one of our messages to this address (keep the subject and the action code)".into(),
        );
    }
    let action = match parsed.keyword.map(|(k, _)| k) {
        None => Action::Draft(DraftKind::Answer),
        Some(Keyword::Interim) => Action::Draft(DraftKind::Interim),
        Some(Keyword::Query) => Action::Draft(DraftKind::Query),
        Some(Keyword::Decline) => Action::Decline,
        Some(Keyword::Approve) => Action::Approve,
        Some(Keyword::Rework) => Action::Rework,
        Some(Keyword::Assign(who)) => Action::Assign(who),
        Some(Keyword::Exclude) => Action::Exclude,
        Some(Keyword::Close) => Action::Close,
        Some(Keyword::Published) => Action::Published,
        Some(Keyword::RepeatOf(n)) => Action::LinkRepeat(n),
        Some(Keyword::Conflict { subject, body }) => {
            return refuse(conflict_question(&subject, &body));
        }
        Some(Keyword::Invalid(what)) => return refuse(what),
        Some(other) => return refuse(format!("{other:?} is not an action on a case")),
    };
    // The coordinator's deputy acts with her rights while she is away: her approvals,
    // returns, assignments, exclusions and closings count. On a case of her own (a deputy
    // who is an executor) she is still its executor for drafts.
    let role = if sender != config.people.coordinator.email
        && sender
            == crate::routing::acting_coordinator(
                config,
                ctx.absences,
                workflow::local_date(config, ctx.now),
            )
        && (role != Role::Executor || coordinator_action(&action))
    {
        Role::Coordinator
    } else {
        role
    };
    if action == Action::Draft(DraftKind::Answer) && role == Role::Coordinator {
        let words: Vec<&str> = [
            Word::Approve,
            Word::Rework,
            Word::Assign,
            Word::Exclude,
            Word::Close,
        ]
        .into_iter()
        .map(|w| keyword::word(w, false))
        .collect();
        return refuse(format!("no action keyword found ({})", words.join(", ")));
    }
    // The coordinator approves (or returns) only the draft the mail she answers showed.
    if role == Role::Coordinator
        && let Err(reason) = workflow::check_round(case, &action, proof.answered, config)
    {
        return refuse(reason);
    }
    // The action codes are proof, not part of what the executor wrote.
    let codes: Vec<String> = proof
        .bare
        .iter()
        .cloned()
        .chain(parsed.codes.iter().take(MAX_CODES_TRIED).cloned())
        .collect();
    let text = without_codes(&parsed.text, &codes);
    if matches!(action, Action::Draft(_)) && text.trim().is_empty() && mail.attachments.is_empty() {
        return refuse("the draft is empty".into());
    }
    let outcome = workflow::apply(
        case,
        Event::Reply {
            from: sender.to_string(),
            role,
            action: action.clone(),
            text,
            attachments: mail.attachments.clone(),
        },
        ctx,
    );
    let mut outcome = outcome;
    set_refusal_round(&mut outcome, refusal_round);
    let (disposition, verb) = if outcome.accepted {
        (Disposition::Processed, "taken")
    } else {
        (Disposition::Rejected, "refused")
    };
    Decision::Case {
        note: format!("{} by {sender}: {verb}", action.name()),
        outcome: Box::new(outcome),
        new: false,
        class: None,
        disposition,
    }
}

/// The actions that are the coordinator's (and her deputy's while she is away).
pub(super) fn coordinator_action(action: &Action) -> bool {
    matches!(
        action,
        Action::Approve | Action::Rework | Action::Assign(_) | Action::Exclude | Action::Close
    )
}
