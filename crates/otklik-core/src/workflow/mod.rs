//! The case workflow (docs/states.md; intake in docs/notifications.md, replies in docs/keywords.md):
//! `(case, event, now) -> (case, effects)`. Pure: no I/O, no clock; `now` is passed in.

use chrono::{DateTime, Utc};

use crate::config::{Config, DeadlineKind};
use crate::inbound::Attachment;
use crate::routing::{self, Absences, Suggestion};

mod case;
mod classify;
mod open;
mod reply;
mod schedule;

pub use case::{
    Case, CaseDeadlines, Draft, DraftKind, HistoryEntry, HistoryEvent, PossibleAbuse, State,
};
pub use classify::{
    Classification, classify, classify_with, had_interim, initial_deadlines, local_date,
    within_repeat_window,
};
use open::assign_to;
pub use open::{flag_to_coordinator, open};
pub use reply::check_round;
use reply::reply;
use schedule::escalate;
pub use schedule::{BadFiredStep, Due, FiredStep, open_deadline, schedule};

/// Who sent a reply, as far as the case is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// `people.coordinator`: approves, returns, assigns, excludes and closes.
    Coordinator,
    /// The case's current executor.
    Executor,
    /// `people.publisher`: may confirm that an approved answer is posted.
    Publisher,
    /// Anyone else (including another executor).
    Other,
}

/// What a reply asks for (the keyword, turned into an action on a case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Submit the reply's text as a draft of this kind (plain, `ПРОМЕЖУТОЧНЫЙ`, `УТОЧНЕНИЕ`).
    Draft(DraftKind),
    /// `НЕ МОЯ КОМПЕТЕНЦИЯ`: the executor gives the case back to the coordinator.
    Decline,
    /// `СОГЛАСОВАНО`: the coordinator approves the pending draft.
    Approve,
    /// `ДОРАБОТАТЬ`: the coordinator returns the draft with comments (cl. 8).
    Rework,
    /// `НАЗНАЧИТЬ`: the coordinator gives the case to the executor with this id.
    Assign(String),
    /// `ИСКЛЮЧИТЬ`: the coordinator excludes the case under clause 12.
    Exclude,
    /// `ЗАКРЫТЬ`: the coordinator closes the case.
    Close,
    /// `ОПУБЛИКОВАНО`: the approved text has been posted.
    Published,
    /// `ПОВТОР OTK-17`: the coordinator links the case, flagged as a possible repeat, to
    /// the earlier case with this number (cl. 10).
    LinkRepeat(u64),
}

impl Action {
    /// The history event name the action records, `approved`.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Draft(DraftKind::Answer) => "draft",
            Action::Draft(DraftKind::Interim) => "interim",
            Action::Draft(DraftKind::Query) => "clarification",
            Action::Decline => "declined",
            Action::Approve => "approved",
            Action::Rework => "rework",
            Action::Assign(_) => "assigned",
            Action::Exclude => "excluded",
            Action::Close => "closed",
            Action::Published => "published",
            Action::LinkRepeat(_) => "repeat",
        }
    }
}

/// Something that happens to an existing case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A reply already authenticated (sender entitled is checked here, proof by the caller).
    Reply {
        /// The sender's address.
        from: String,
        /// What the sender is to this case.
        role: Role,
        /// What the reply asks for.
        action: Action,
        /// The reply's own text (the draft, the comments, the reason).
        text: String,
        /// The files sent with the reply.
        attachments: Vec<Attachment>,
    },
    /// The same post notified again.
    Duplicate {
        /// What the history records about the repeated notification.
        detail: String,
    },
    /// An escalation step is due.
    Escalation {
        /// The step's index in `[[escalations]]`.
        step: usize,
        /// The deadline the step watches.
        kind: DeadlineKind,
        /// The deadline's instant when the step was scheduled; a moved deadline makes it stale.
        deadline: DateTime<Utc>,
    },
    /// The mails of an escalation step could not be built (an address the config let
    /// through that the message builder refuses): the step stays fired, the history says
    /// why nobody was mailed.
    MailFailed {
        /// Which step, and what the builder said.
        detail: String,
    },
}

/// A mail to send, by meaning; `templates` turns it into text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Lower-cased addresses.
    pub to: Vec<String>,
    /// What the mail is to say.
    pub kind: NoticeKind,
}

/// What a notice is about, and what it carries beyond the case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeKind {
    /// The case, to its (new) executor; `absent`: on behalf of this absent executor.
    NewCase {
        /// The id of the absent executor the deputy stands in for, if any.
        absent: Option<String>,
    },
    /// To the coordinator (`people.coordinator.new_cases`): a new case opened and went to
    /// its executor; she may reassign it (cl. 5).
    CaseOpened,
    /// To the coordinator: nobody was found; please assign.
    NeedsAssignment {
        /// Why nobody has it: no rule matched, or the executor is away without a deputy.
        reason: String,
        /// The routing model's best guesses, most probable first, each offered as a
        /// one-click assignment with the words behind it; empty without a model.
        suggestions: Vec<Suggestion>,
    },
    /// To the coordinator: clause 12 exclusion.
    Excluded {
        /// The lexicon entry that matched the post.
        matched: String,
    },
    /// To the coordinator: flagged as a repeat but no earlier case found.
    RepeatUnmatched,
    /// To the coordinator: the pending draft.
    ForApproval,
    /// To the executor: returned with comments.
    Returned {
        /// The coordinator's comments.
        comments: String,
    },
    /// To the executor (and the publisher): the approved text.
    Approved,
    /// To the coordinator: the executor declined.
    Declined {
        /// The executor's reason.
        reason: String,
    },
    /// To the previous executor after reassignment or closing.
    Withdrawn {
        /// Why the case is no longer theirs.
        reason: String,
    },
    /// To an actor whose action was taken.
    Confirmation {
        /// The action taken, as its history event name.
        action: String,
    },
    /// To a sender whose reply changed nothing.
    Refused {
        /// Why the reply was refused.
        reason: String,
        /// The approval round the refusal mail to the coordinator carries (in its Message-ID
        /// and her code): the round of the mail the refused reply answered when that is the
        /// case's current round, so that answering the refusal still acts on the draft she
        /// saw; 0 otherwise (a refusal is no request for approval).
        round: u64,
    },
    /// A reminder or escalation about a deadline.
    Deadline {
        /// Which deadline.
        kind: DeadlineKind,
        /// When it falls.
        deadline: DateTime<Utc>,
        /// Fired after the deadline already passed (or late because the service was down).
        late: bool,
    },
}

/// What the workflow decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The case after the event.
    pub case: Case,
    /// The mails to send about it.
    pub notices: Vec<Notice>,
    /// False when the event changed nothing but a `rejected_reply` entry.
    pub accepted: bool,
}

/// What the workflow needs besides the case: the config, absences, and the time.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    /// The validated configuration: people, rules, deadlines, escalations, the calendar.
    pub config: &'a Config,
    /// Absences announced by email, by executor id.
    pub absences: &'a Absences,
    /// The time of the event.
    pub now: DateTime<Utc>,
}

impl Ctx<'_> {
    /// Whoever acts as the coordinator now: her deputy while she is away.
    fn coordinator(&self) -> String {
        routing::acting_coordinator(
            self.config,
            self.absences,
            local_date(self.config, self.now),
        )
    }

    fn executor_email(&self, id: &str) -> Option<String> {
        self.config.executor(id).map(|e| e.email.clone())
    }
}

fn entry(
    at: DateTime<Utc>,
    event: HistoryEvent,
    by: &str,
    detail: impl Into<String>,
) -> HistoryEntry {
    HistoryEntry {
        at,
        event,
        by: by.to_string(),
        detail: detail.into(),
    }
}

/// A reply that changes nothing: recorded as `rejected_reply`, explained to its sender.
pub fn refuse(mut case: Case, from: &str, reason: String, ctx: Ctx<'_>) -> Outcome {
    case.history.push(entry(
        ctx.now,
        HistoryEvent::RejectedReply,
        from,
        reason.clone(),
    ));
    Outcome {
        case,
        notices: vec![Notice {
            to: vec![from.to_string()],
            kind: NoticeKind::Refused { reason, round: 0 },
        }],
        accepted: false,
    }
}

/// Applies one event to a case.
pub fn apply(case: &Case, event: Event, ctx: Ctx<'_>) -> Outcome {
    let mut case = case.clone();
    match event {
        Event::Duplicate { detail } => {
            case.history.push(entry(
                ctx.now,
                HistoryEvent::Duplicate,
                "monitoring",
                detail,
            ));
            Outcome {
                case,
                notices: Vec::new(),
                accepted: true,
            }
        }
        Event::Escalation {
            step,
            kind,
            deadline,
        } => escalate(case, step, kind, deadline, ctx),
        Event::MailFailed { detail } => {
            case.history
                .push(entry(ctx.now, HistoryEvent::MailFailed, "otklik", detail));
            Outcome {
                case,
                notices: Vec::new(),
                accepted: true,
            }
        }
        Event::Reply {
            from,
            role,
            action,
            text,
            attachments,
        } => reply(case, &from, role, action, text, attachments, ctx),
    }
}
