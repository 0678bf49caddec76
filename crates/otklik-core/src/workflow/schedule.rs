//! Deadlines and escalations: which deadline of a case is still open, which escalation steps
//! are due and when, and what a step that fires does to the case.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Case, Ctx, HistoryEvent, Notice, NoticeKind, Outcome, State, entry, local_date};
use crate::config::{Config, DeadlineKind, NotifyTarget};
use crate::routing;

/// The deadline of `kind` if it is still open for the case (its escalations may fire).
///
/// The answer deadline runs until the first answer or interim answer is posted; the final
/// deadline (after an interim answer) until the final answer is posted. In `approved` and
/// `interim_approved` they run only while an approved text waits for `ОПУБЛИКОВАНО` (a case
/// approved before publication was tracked has nothing waiting, and nothing runs).
pub fn open_deadline(case: &Case, kind: DeadlineKind) -> Option<DateTime<Utc>> {
    use State::*;
    let live = case.state.is_open();
    let waiting_post = case.awaiting_publication.is_some();
    let open = match kind {
        DeadlineKind::Draft => {
            case.first_draft_at.is_none() && matches!(case.state, Unassigned | Assigned)
        }
        DeadlineKind::Answer => {
            live && case.published_at.is_none() && (case.answered_at.is_none() || waiting_post)
        }
        DeadlineKind::Rework => case.state == Rework,
        // Until the final draft reaches the coordinator it is the executor's clock; after it,
        // the same clock runs on for her approval and the posting (its reminders go to
        // whoever holds that step, see `escalate`) until the final answer is posted.
        DeadlineKind::Final => {
            live && case.final_published_at.is_none()
                && (case.final_draft_at.is_none() || case.state != Rework)
                && (case.state != Approved || waiting_post)
        }
    };
    if open { case.deadlines.get(kind) } else { None }
}

/// An escalation step that has fired: the step's index in `[[escalations]]`, the deadline it
/// watched and that deadline's instant. A deadline that moves (a rework, an interim answer)
/// makes a new instant, so the same step can fire again for it.
///
/// Stored as the text `step:Kind:unix-seconds` (`2:Answer:1767600000`), the form the store has
/// always kept, so cases written by earlier versions read back unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct FiredStep {
    /// The step's index in `[[escalations]]`.
    pub step: usize,
    /// The deadline the step watched.
    pub kind: DeadlineKind,
    /// That deadline's instant, in whole seconds.
    pub deadline: DateTime<Utc>,
}

impl FiredStep {
    /// The fired step, its deadline truncated to whole seconds as it is stored.
    pub fn new(step: usize, kind: DeadlineKind, deadline: DateTime<Utc>) -> FiredStep {
        FiredStep {
            step,
            kind,
            // Whole seconds: the stored form keeps no more.
            deadline: DateTime::from_timestamp(deadline.timestamp(), 0).unwrap_or(deadline),
        }
    }
}

impl From<FiredStep> for String {
    fn from(f: FiredStep) -> String {
        let kind = match f.kind {
            DeadlineKind::Draft => "Draft",
            DeadlineKind::Answer => "Answer",
            DeadlineKind::Rework => "Rework",
            DeadlineKind::Final => "Final",
        };
        format!("{}:{kind}:{}", f.step, f.deadline.timestamp())
    }
}

/// A stored fired step that does not read back as `step:Kind:unix-seconds`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a fired escalation step: {0:?}")]
pub struct BadFiredStep(String);

impl TryFrom<String> for FiredStep {
    type Error = BadFiredStep;

    fn try_from(s: String) -> Result<FiredStep, BadFiredStep> {
        let bad = || BadFiredStep(s.clone());
        let mut parts = s.splitn(3, ':');
        let step = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let kind = match parts.next() {
            Some("Draft") => DeadlineKind::Draft,
            Some("Answer") => DeadlineKind::Answer,
            Some("Rework") => DeadlineKind::Rework,
            Some("Final") => DeadlineKind::Final,
            _ => return Err(bad()),
        };
        let deadline = parts
            .next()
            .and_then(|p| p.parse().ok())
            .and_then(|t| DateTime::from_timestamp(t, 0))
            .ok_or_else(bad)?;
        Ok(FiredStep {
            step,
            kind,
            deadline,
        })
    }
}

/// A pending escalation step of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Due {
    /// When the step fires: the deadline moved by the step's working-time offset.
    pub at: DateTime<Utc>,
    /// The case's number.
    pub case: u64,
    /// The step's index in `[[escalations]]`.
    pub step: usize,
    /// The deadline the step watches.
    pub kind: DeadlineKind,
    /// That deadline's instant.
    pub deadline: DateTime<Utc>,
}

/// Every escalation step of the case still to fire, with its instant.
pub fn schedule(case: &Case, config: &Config) -> Vec<Due> {
    let mut out = Vec::new();
    for (step, esc) in config.escalations.iter().enumerate() {
        let Some(deadline) = open_deadline(case, esc.deadline) else {
            continue;
        };
        if case
            .fired
            .contains(&FiredStep::new(step, esc.deadline, deadline))
        {
            continue;
        }
        out.push(Due {
            at: config.calendar.offset(deadline, esc.at),
            case: case.number,
            step,
            kind: esc.deadline,
            deadline,
        });
    }
    out.sort();
    out
}

pub(super) fn escalate(
    mut case: Case,
    step: usize,
    kind: DeadlineKind,
    deadline: DateTime<Utc>,
    ctx: Ctx<'_>,
) -> Outcome {
    let unchanged = Outcome {
        case: case.clone(),
        notices: Vec::new(),
        accepted: false,
    };
    let Some(esc) = ctx.config.escalations.get(step) else {
        return unchanged;
    };
    let key = FiredStep::new(step, kind, deadline);
    if esc.deadline != kind
        || open_deadline(&case, kind) != Some(deadline)
        || case.fired.contains(&key)
    {
        return unchanged;
    }
    let due = ctx.config.calendar.offset(deadline, esc.at);
    let date = local_date(ctx.config, ctx.now);
    let mut to = Vec::new();
    let mut only_executor = true;
    for target in &esc.notify {
        let (addr, executors_own) = recipient(target, &case, kind, date, ctx);
        only_executor &= executors_own;
        if let Some(a) = addr
            && !to.contains(&a)
        {
            to.push(a);
        }
    }
    // Late: the step's instant passed well before now (the service was down).
    let late = (ctx.now - due) > chrono::Duration::minutes(1);
    case.fired.insert(key);
    let event = if only_executor {
        HistoryEvent::Reminder
    } else {
        HistoryEvent::Escalation
    };
    let mut detail = format!(
        "{kind:?} deadline {}, step {} ({}) to {}",
        deadline.to_rfc3339(),
        step + 1,
        esc.at,
        to.join(", ")
    );
    if ctx.now - due > chrono::Duration::minutes(1) {
        detail.push_str(" [late: fired after a pause]");
    }
    case.history
        .push(entry(ctx.now, event, "otklik", detail.to_lowercase()));
    let notices = if to.is_empty() {
        Vec::new()
    } else {
        vec![Notice {
            to,
            kind: NoticeKind::Deadline {
                kind,
                deadline,
                late,
            },
        }]
    };
    Outcome {
        case,
        notices,
        accepted: true,
    }
}

/// Where one `notify` target of an escalation step sends its mail for the case, and whether
/// that is the executor's own reminder (false once anyone else is told).
fn recipient(
    target: &NotifyTarget,
    case: &Case,
    kind: DeadlineKind,
    date: chrono::NaiveDate,
    ctx: Ctx<'_>,
) -> (Option<String>, bool) {
    let mut only_executor = true;
    let addr = match target {
        // The final draft is in: the next step is not the executor's (cl. 9).
        NotifyTarget::Executor
            if kind == DeadlineKind::Final
                && case.final_draft_at.is_some()
                && case.state != State::Rework =>
        {
            only_executor = false;
            match (case.state, &ctx.config.people.publisher) {
                (State::Approved | State::InterimApproved, Some(p)) => Some(p.clone()),
                (State::Approved | State::InterimApproved, None) => case
                    .executor
                    .as_deref()
                    .and_then(|id| ctx.config.executor(id))
                    .map(|e| e.email.clone()),
                _ => Some(ctx.coordinator()),
            }
        }
        NotifyTarget::Executor => {
            // An absent executor's escalations go to the coordinator.
            match case
                .executor
                .as_deref()
                .and_then(|id| ctx.config.executor(id))
            {
                Some(e) if !routing::is_absent(e, ctx.absences, date) => Some(e.email.clone()),
                _ => {
                    only_executor = false;
                    Some(ctx.coordinator())
                }
            }
        }
        NotifyTarget::Coordinator => {
            only_executor = false;
            Some(ctx.coordinator())
        }
        NotifyTarget::Supervisor => {
            only_executor = false;
            ctx.config
                .people
                .supervisor
                .as_ref()
                .map(|s| s.email.clone())
        }
        NotifyTarget::Email(e) => {
            only_executor = false;
            Some(e.clone())
        }
    };
    (addr, only_executor)
}
