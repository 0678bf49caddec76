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
    if let Some(rejected) = unknown_sender(case, sender, ctx) {
        return rejected;
    }
    // A refusal goes into the case's history and is explained to the sender — at most once
    // a day per sender and case, and never to automatic mail. A sender refused on this case
    // again and again (an autoresponder without headers, a flood of forged replies) is only
    // recorded in the ledger, so that no stream of mail can grow a case without bound.
    let role = role_of(case, sender, ctx);
    let proof = Proof::of(mail, &parsed, case, sender, secret, domain);
    // The approval round a refusal mail carries: the one the refused reply answered, while
    // it is the current one (so that answering the refusal still acts on that draft).
    let refusal_round = proof
        .answered
        .filter(|&r| r == case.approval_round)
        .unwrap_or(0);
    let earlier = Refusals::of(case, sender, ctx.now);
    let refused = |reason: String, explain: bool| {
        let explain = explain && !earlier.today;
        refusal(
            case,
            sender,
            reason,
            explain,
            earlier.total,
            refusal_round,
            ctx,
        )
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
    let action = match action_of(parsed.keyword.map(|(k, _)| k)) {
        Ok(action) => action,
        Err(reason) => return refuse(reason),
    };
    let role = acting_role(role, &action, sender, ctx);
    if action == Action::Draft(DraftKind::Answer) && role == Role::Coordinator {
        return refuse(no_action_keyword());
    }
    // The coordinator approves (or returns) only the draft the mail she answers showed.
    if role == Role::Coordinator
        && let Err(reason) = workflow::check_round(case, &action, proof.answered, config)
    {
        return refuse(reason);
    }
    let text = own_text(&proof, &parsed.codes, &parsed.text);
    if matches!(action, Action::Draft(_)) && text.trim().is_empty() && mail.attachments.is_empty() {
        return refuse("the draft is empty".into());
    }
    let mut outcome = workflow::apply(
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

/// A reply nobody can be recognised by, or from anyone but the configured people: rejected
/// (recorded in the ledger, never answered, never written into the case).
fn unknown_sender(case: &Case, sender: &str, ctx: Ctx<'_>) -> Option<Decision> {
    if sender.is_empty() {
        // No From, several, or one the SMTP library refuses: nobody can be recognised
        // and nobody can be answered.
        return Some(Decision::reject(format!(
            "reply to {} without a valid From address",
            case.id
        )));
    }
    // Mail from anyone but the configured people is recorded in the ledger and set aside:
    // never answered (a forged From would turn our answer into mail to a stranger), and
    // never written into a case (no stream of it can grow one).
    if !configured_person(ctx.config, sender) {
        return Some(Decision::reject(format!(
            "reply to {} from {sender}, who is no configured person: recorded, not answered",
            case.id
        )));
    }
    None
}

/// A refused reply: in the case's history with `reason` (explained to the sender when
/// `explain`) and the approval round it answered, or only in the ledger once the sender was
/// refused `earlier` times on the case.
fn refusal(
    case: &Case,
    sender: &str,
    reason: String,
    explain: bool,
    earlier: usize,
    refusal_round: u64,
    ctx: Ctx<'_>,
) -> Decision {
    if earlier >= REFUSALS_IN_HISTORY {
        return Decision::reject(format!(
            "{}: {reason} (refused {earlier} times before; recorded in the ledger only)",
            case.id
        ));
    }
    let mut outcome = workflow::refuse(case.clone(), sender, reason.clone(), ctx);
    if !explain {
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
}

/// Who the sender is to the case, before any deputising.
fn role_of(case: &Case, sender: &str, ctx: Ctx<'_>) -> Role {
    let config = ctx.config;
    if sender == config.people.coordinator.email {
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
    }
}

/// The action a reply's keyword asks for on a case (none: a draft answer), or why it asks
/// for none.
fn action_of(keyword: Option<Keyword>) -> Result<Action, String> {
    Ok(match keyword {
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
            return Err(conflict_question(&subject, &body));
        }
        Some(Keyword::Invalid(what)) => return Err(what),
        Some(other) => return Err(format!("{other:?} is not an action on a case")),
    })
}

/// The coordinator's deputy acts with her rights while she is away: her approvals,
/// returns, assignments, exclusions and closings count. On a case of her own (a deputy
/// who is an executor) she is still its executor for drafts.
fn acting_role(role: Role, action: &Action, sender: &str, ctx: Ctx<'_>) -> Role {
    let config = ctx.config;
    if sender != config.people.coordinator.email
        && sender
            == crate::routing::acting_coordinator(
                config,
                ctx.absences,
                workflow::local_date(config, ctx.now),
            )
        && (role != Role::Executor || coordinator_action(action))
    {
        Role::Coordinator
    } else {
        role
    }
}

/// The refusal of a coordinator's reply that names no action: the keywords she may use.
fn no_action_keyword() -> String {
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
    format!("no action keyword found ({})", words.join(", "))
}

/// What the sender wrote: the reply's text without the action codes, which are proof.
fn own_text(proof: &Proof, codes: &[String], text: &str) -> String {
    let codes: Vec<String> = proof
        .bare
        .iter()
        .cloned()
        .chain(codes.iter().take(MAX_CODES_TRIED).cloned())
        .collect();
    without_codes(text, &codes)
}

/// The actions that are the coordinator's (and her deputy's while she is away).
pub(super) fn coordinator_action(action: &Action) -> bool {
    matches!(
        action,
        Action::Approve | Action::Rework | Action::Assign(_) | Action::Exclude | Action::Close
    )
}
