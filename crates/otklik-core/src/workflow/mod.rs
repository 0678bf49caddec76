//! The case workflow (docs/states.md; intake in docs/notifications.md, replies in docs/keywords.md):
//! `(case, event, now) -> (case, effects)`. Pure: no I/O, no clock; `now` is passed in.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::{Config, DeadlineKind, NotifyTarget};
use crate::inbound::Attachment;
use crate::intake::Notification;
use crate::routing::{self, Absences, Assignee, Model, Probability, RouteDecision, Suggestion};

mod reply;
pub use reply::check_round;
use reply::reply;

/// Where a case stands; written in the case JSON as its snake_case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Nobody holds it (no rule matched, the executor declined or is away without a
    /// deputy); waits for `НАЗНАЧИТЬ`.
    Unassigned,
    /// An executor holds it and owes a draft.
    Assigned,
    /// A draft (answer, interim answer or clarifying question) waits for the coordinator.
    DraftSubmitted,
    /// The coordinator returned the draft; the executor owes a reworked one within the
    /// rework deadline (cl. 8).
    Rework,
    /// An interim answer is approved; the final answer is due within the final deadline (cl. 9).
    InterimApproved,
    /// The answer is approved and waits for the confirmation that it is posted (`ОПУБЛИКОВАНО`).
    Approved,
    /// Posting confirmed, or closed by the coordinator (`ЗАКРЫТЬ`); not open.
    Closed,
    /// Not to be answered under clause 12 (by the lexicon or `ИСКЛЮЧИТЬ`); not open.
    Excluded,
}

impl State {
    /// The snake_case name used in the case JSON, the CLI and the logs.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Unassigned => "unassigned",
            State::Assigned => "assigned",
            State::DraftSubmitted => "draft_submitted",
            State::Rework => "rework",
            State::InterimApproved => "interim_approved",
            State::Approved => "approved",
            State::Closed => "closed",
            State::Excluded => "excluded",
        }
    }

    /// Open cases are those someone still has to act on (`cases` without `--all`).
    pub fn is_open(self) -> bool {
        !matches!(self, State::Closed | State::Excluded)
    }
}

/// What a draft is meant to be once approved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DraftKind {
    /// The answer itself (final, or the only one).
    Answer,
    /// An interim answer (cl. 7, 9).
    Interim,
    /// A clarifying question to the author (cl. 7).
    Query,
}

/// A text an executor submitted for the coordinator's approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draft {
    /// Answer, interim answer or clarifying question, by the reply's keyword.
    pub kind: DraftKind,
    /// The draft's text, as taken from the reply.
    pub text: String,
    /// The files sent with the reply.
    pub attachments: Vec<Attachment>,
    /// The sender's address.
    pub by: String,
    /// When the draft was taken in.
    pub at: DateTime<Utc>,
}

/// What a history entry records. Written in the case JSON as its snake_case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryEvent {
    /// The case was opened from a notification.
    Created,
    /// The case was opened as a repeat of an earlier one (cl. 10).
    Repeat,
    /// The case was left to the coordinator: nobody to take it.
    Unassigned,
    /// An executor (or their deputy) was given the case; the detail reads `to ID …`.
    Assigned,
    /// The case was mailed to its executor; the detail is the address.
    Forwarded,
    /// A reply was refused and changed nothing; the detail is the reason.
    RejectedReply,
    /// The same post was notified again.
    Duplicate,
    /// A draft answer was submitted.
    Draft,
    /// An interim answer was submitted (cl. 7, 9).
    Interim,
    /// A clarifying question to the author was submitted (cl. 7).
    Clarification,
    /// The executor declined the case as outside their competence.
    Declined,
    /// The coordinator approved the pending draft.
    Approved,
    /// The coordinator returned the draft for rework; the detail is the comments.
    Rework,
    /// The case was excluded under clause 12, or the exclusion was overturned.
    Excluded,
    /// The case was closed; the detail is the reason.
    Closed,
    /// The approved text was confirmed posted; the detail is what the confirmer wrote.
    Published,
    /// An escalation step mailed the executor only.
    Reminder,
    /// An escalation step mailed someone besides the executor.
    Escalation,
    /// An escalation step fired but its mail could not be built.
    MailFailed,
}

impl HistoryEvent {
    /// The name in the case JSON and the logs.
    pub fn as_str(self) -> &'static str {
        match self {
            HistoryEvent::Created => "created",
            HistoryEvent::Repeat => "repeat",
            HistoryEvent::Unassigned => "unassigned",
            HistoryEvent::Assigned => "assigned",
            HistoryEvent::Forwarded => "forwarded",
            HistoryEvent::RejectedReply => "rejected_reply",
            HistoryEvent::Duplicate => "duplicate",
            HistoryEvent::Draft => "draft",
            HistoryEvent::Interim => "interim",
            HistoryEvent::Clarification => "clarification",
            HistoryEvent::Declined => "declined",
            HistoryEvent::Approved => "approved",
            HistoryEvent::Rework => "rework",
            HistoryEvent::Excluded => "excluded",
            HistoryEvent::Closed => "closed",
            HistoryEvent::Published => "published",
            HistoryEvent::Reminder => "reminder",
            HistoryEvent::Escalation => "escalation",
            HistoryEvent::MailFailed => "mail_failed",
        }
    }
}

impl std::fmt::Display for HistoryEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for HistoryEvent {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// One line of a case's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What happened.
    pub event: HistoryEvent,
    /// Who did it: a sender's address, `otklik` for the service, `monitoring` for the platform.
    pub by: String,
    /// Free text about the event (a reason, comments, a draft's text).
    pub detail: String,
}

/// The instants a case's deadlines fall at; kept once set, even when no longer tracked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseDeadlines {
    /// The draft deadline: the answer deadline less `deadlines.draft_before_answer` (by
    /// default 4 working hours).
    pub draft: Option<DateTime<Utc>>,
    /// The answer deadline: detection plus `deadlines.answer` (by default 9 working hours, cl. 6).
    pub answer: Option<DateTime<Utc>>,
    /// The rework deadline: the last `ДОРАБОТАТЬ` plus `deadlines.rework` (by default 1
    /// working hour, cl. 8).
    pub rework: Option<DateTime<Utc>>,
    /// The final deadline: the first interim answer's posting (`ОПУБЛИКОВАНО`) plus
    /// `deadlines.final_after_interim` (by default 7 working days, cl. 9); met when the
    /// final draft reaches the coordinator.
    #[serde(rename = "final")]
    pub final_: Option<DateTime<Utc>>,
}

impl CaseDeadlines {
    /// The instant of deadline `kind`, if set.
    pub fn get(&self, kind: DeadlineKind) -> Option<DateTime<Utc>> {
        match kind {
            DeadlineKind::Draft => self.draft,
            DeadlineKind::Answer => self.answer,
            DeadlineKind::Rework => self.rework,
            DeadlineKind::Final => self.final_,
        }
    }
}

/// One notified post and everything done about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    /// The case's sequence number, unique in the store.
    pub number: u64,
    /// The tag officials see, `service.case_prefix` and the number: `OTK-42`.
    pub id: String,
    /// Where the case stands.
    pub state: State,
    /// The id of the executor holding the case; `None` while unassigned.
    pub executor: Option<String>,
    /// The monitoring platform's notification the case was opened from.
    pub notification: Notification,
    /// For a repeat (cl. 10): the id of the earlier case.
    pub repeat_of: Option<String>,
    /// For a repeat: the answer approved on the earlier case, quoted to the executor (cl. 10).
    #[serde(default)]
    pub earlier_answer: Option<String>,
    /// Earlier approved answers to posts like this one (the archive), best first, shown
    /// to the executor with the case and to the coordinator with each draft.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub similar: Vec<crate::archive::Similar>,
    /// An earlier case by another author about the same problem at the same place, flagged
    /// to the coordinator as a possible repeat (cl. 10); she links it with `ПОВТОР`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub possible_repeat: Option<crate::repeat::PossibleRepeat>,
    /// The case's deadlines.
    pub deadlines: CaseDeadlines,
    /// The draft waiting for the coordinator, or the last one returned for rework.
    pub draft: Option<Draft>,
    /// The last approved text (quoted when a repeat comes in).
    pub approved: Option<Draft>,
    /// Everything that happened to the case, oldest first.
    pub history: Vec<HistoryEntry>,
    /// Escalation steps already fired (stored as `step:Kind:deadline-unix`).
    pub fired: BTreeSet<FiredStep>,
    /// When the case's first draft arrived; the draft deadline is met by it.
    pub first_draft_at: Option<DateTime<Utc>>,
    /// When the first answer or interim answer was approved (approved in time, cl. 7).
    pub answered_at: Option<DateTime<Utc>>,
    /// When the first answer or interim answer was posted (`ОПУБЛИКОВАНО`): the answer
    /// deadline is met (cl. 6: prepared *and* posted).
    #[serde(default)]
    pub published_at: Option<DateTime<Utc>>,
    /// An approved answer or interim answer waiting for `ОПУБЛИКОВАНО`; its deadline (answer,
    /// or final after an interim answer) stays tracked until then.
    #[serde(default)]
    pub awaiting_publication: Option<DraftKind>,
    /// The final answer after an interim one (cl. 9): when it was approved, when posted.
    #[serde(default)]
    pub final_approved_at: Option<DateTime<Utc>>,
    /// When the final answer after an interim one was posted.
    #[serde(default)]
    pub final_published_at: Option<DateTime<Utc>>,
    /// When the final draft after an interim answer reached the coordinator: the final
    /// deadline, the executor's part of clause 9, is met by it. Her approval and the posting
    /// are the next steps, never counted against the executor.
    #[serde(default)]
    pub final_draft_at: Option<DateTime<Utc>>,
    /// When the case was closed or excluded; cleared when an excluded case is assigned again.
    pub closed_at: Option<DateTime<Utc>>,
    /// The approval round: how many drafts were sent to the coordinator for approval. The
    /// coordinator's mail carries it (in its Message-ID and her action code), and her
    /// `СОГЛАСОВАНО` or `ДОРАБОТАТЬ` applies only to the round her reply answers
    /// (docs/keywords.md#approval-rounds). 0 in cases written by earlier versions.
    #[serde(default)]
    pub approval_round: u64,
}

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

/// How a new notification is to be handled (clauses 10, 12; rules).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Classification {
    /// Clause 12: the lexicon entry that matched.
    Excluded {
        /// The lexicon entry that matched the post.
        matched: String,
    },
    /// Clause 10: a repeat of an earlier case (its id and executor).
    Repeat {
        /// The earlier case's id.
        of: String,
        /// The earlier case's executor, who gets the repeat.
        executor: Option<String>,
        /// The answer approved on the earlier case, to quote to the executor.
        earlier_answer: Option<String>,
    },
    /// A rule named the executor; `repeat_unmatched`: flagged as a repeat, no earlier case.
    Routed {
        /// The matching rule's name.
        rule: String,
        /// The executor id the rule names.
        executor: String,
        /// The platform flagged the post as a repeat, but no earlier case was found.
        repeat_unmatched: bool,
    },
    /// No rule matched; the routing model was sure enough (`routing.auto_threshold`).
    Modelled {
        /// The executor the model chose.
        executor: String,
        /// Its posterior probability.
        confidence: Probability,
        /// The post's words that speak most for that executor.
        top_words: Vec<String>,
        /// The platform flagged the post as a repeat, but no earlier case was found.
        repeat_unmatched: bool,
    },
    /// No rule matched and the model was not sure enough (or is off): the coordinator
    /// decides.
    Unmatched {
        /// The platform flagged the post as a repeat, but no earlier case was found.
        repeat_unmatched: bool,
        /// The model's best guesses for the coordinator, most probable first.
        suggestions: Vec<Suggestion>,
    },
}

/// Is `earlier` a case this notification may repeat (clause 10): detected before it, within
/// `intake.repeat_window` calendar days?
pub fn within_repeat_window(config: &Config, earlier: &Case, n: &Notification) -> bool {
    let before = earlier.notification.detected_at;
    before <= n.detected_at && n.detected_at - before <= config.intake.repeat_window
}

/// Classify a notification with the config's starter routing model ([`classify_with`]).
pub fn classify(config: &Config, n: &Notification, earlier: Option<&Case>) -> Classification {
    classify_with(config, None, n, earlier)
}

/// Classify a notification. `earlier` is the latest case by the same author on the same
/// topic within the repeat window (the store finds it); `model` is the routing model the
/// shell keeps (learned from earlier cases), `None` for the config's starter model.
pub fn classify_with(
    config: &Config,
    model: Option<&Model>,
    n: &Notification,
    earlier: Option<&Case>,
) -> Classification {
    if let Some(matched) = config.intake.lexicon.find(&n.text) {
        return Classification::Excluded { matched };
    }
    if let Some(prev) = earlier {
        return Classification::Repeat {
            of: prev.id.clone(),
            executor: prev.executor.clone(),
            earlier_answer: prev.approved.as_ref().map(|d| d.text.clone()),
        };
    }
    let repeat_unmatched = n.repeat;
    match routing::route(config, model, n) {
        RouteDecision::Rule { name, executor } => Classification::Routed {
            rule: name,
            executor,
            repeat_unmatched,
        },
        RouteDecision::Model {
            executor,
            confidence,
            top_words,
        } => Classification::Modelled {
            executor,
            confidence,
            top_words,
            repeat_unmatched,
        },
        RouteDecision::Coordinator { suggestions } => Classification::Unmatched {
            repeat_unmatched,
            suggestions,
        },
    }
}

/// The draft and answer deadlines of a notification detected at `detected`.
pub fn initial_deadlines(config: &Config, n: &Notification) -> CaseDeadlines {
    let set = config.deadlines.for_category(n.category.as_deref());
    let cal = &config.calendar;
    let answer = cal.add(n.detected_at, set.answer);
    let draft = cal.sub(answer, set.draft_before_answer);
    CaseDeadlines {
        draft: Some(draft),
        answer: Some(answer),
        rework: None,
        final_: None,
    }
}

/// Has an interim answer of the case been approved (cl. 9: a final one is owed)?
pub fn had_interim(case: &Case) -> bool {
    case.history.iter().any(|h| {
        h.event == HistoryEvent::Approved && h.detail.starts_with("interim answer approved")
    })
}

/// The calendar-zone date of an instant.
pub fn local_date(config: &Config, t: DateTime<Utc>) -> chrono::NaiveDate {
    t.with_timezone(&config.calendar.timezone()).date_naive()
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

/// Opens case number `number` for a notification (docs/notifications.md).
pub fn open(number: u64, n: Notification, class: Classification, ctx: Ctx<'_>) -> Outcome {
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
    let mut notices = Vec::new();
    let date = local_date(config, ctx.now);

    let mut suggestions = Vec::new();
    let (wanted, how, repeat_unmatched) = match class {
        Classification::Excluded { matched } => {
            case.state = State::Excluded;
            case.closed_at = Some(ctx.now);
            case.history.push(entry(
                ctx.now,
                HistoryEvent::Excluded,
                "otklik",
                format!("clause 12 lexicon: {matched}"),
            ));
            notices.push(Notice {
                to: vec![ctx.coordinator()],
                kind: NoticeKind::Excluded { matched },
            });
            return Outcome {
                case,
                notices,
                accepted: true,
            };
        }
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
                    suggestions: Vec::new(),
                },
            });
        }
        _ => {
            // A repeat of a case nobody held: the coordinator gets it as a repeat (cl. 10).
            let earlier = case.repeat_of.clone();
            let reason = match (earlier, suggestions.first()) {
                (Some(of), _) => format!("repeat of {of}, which has no executor"),
                (None, Some(best)) => format!(
                    "no routing rule matched and the routing model is not sure enough \
                     (best guess {} at {} %)",
                    best.executor,
                    best.probability.percent()
                ),
                (None, None) => "no routing rule matched".to_string(),
            };
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
    }
    Outcome {
        case,
        notices,
        accepted: true,
    }
}

/// Makes sure the coordinator (her deputy while she is away) hears of a new case flagged as a
/// possible repeat: her new-case notice (or the request to assign) carries the flag; when she would get neither
/// (`people.coordinator.new_cases` off), she gets the new-case notice for it.
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
fn assign_to(
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

fn escalate(
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
