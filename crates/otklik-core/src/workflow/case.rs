//! The case record as stored: its state, drafts, history, deadlines and fired escalations.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::FiredStep;
use crate::config::DeadlineKind;
use crate::inbound::Attachment;
use crate::intake::Notification;
use crate::related::{PossibleRepeat, Similar};

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
    pub similar: Vec<Similar>,
    /// An earlier case by another author about the same problem at the same place, flagged
    /// to the coordinator as a possible repeat (cl. 10); she links it with `ПОВТОР`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub possible_repeat: Option<PossibleRepeat>,
    /// The clause 12 model's flag on a post the rules let through: it may be abusive; the
    /// coordinator decides (`ИСКЛЮЧИТЬ`), the case goes on meanwhile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub possible_abuse: Option<PossibleAbuse>,
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

/// The clause 12 model's flag on a post the rules let through (see [`Case::possible_abuse`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PossibleAbuse {
    /// How sure the model is, in percent.
    pub percent: u8,
    /// The post's words that weighed most toward clause 12.
    #[serde(default)]
    pub words: Vec<String>,
}
