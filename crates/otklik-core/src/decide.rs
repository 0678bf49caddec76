//! One inbound message → one decision. The richest rules of the service live here: which
//! message is a notification, a reply to a case or a self-service request; who may act on
//! a case and with what proof; what is refused and why.
//!
//! The shell first asks [`questions`] what it must look up, fetches those [`Facts`] from
//! its store, and calls [`decide`], which is pure: the same message, facts and time give
//! the same [`Decision`]. The service commits the decision; `otklik route` prints it.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::auth::{self, Secret};
use crate::compose;
use crate::config::Config;
use crate::inbound::{Automatic, Inbound};
use crate::intake::{self, Notification};
use crate::reply::keyword::{self, Word};
use crate::reply::{Keyword, ParsedReply};
use crate::routing::Absences;
use crate::sender::Pending;
use crate::templates::{self, Rendered};
use crate::triage::{ReadNotification, Triage};
use crate::workflow::{
    self, Action, Case, Classification, Ctx, DraftKind, Event, HistoryEvent, Outcome, Role,
};

/// What became of an inbound message: where it is moved after the commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// Taken in: a case opened or changed, a request answered.
    Processed,
    /// Not taken in (recorded with the reason).
    Rejected,
}

/// What the shell must look up in its store before the core decides about a message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Questions {
    /// The case a reply points to (by the subject's tag or our Message-IDs it answers).
    pub case: Option<u64>,
    /// A notification's keys: the case of the same post (by source id, else link), and
    /// the latest case by the same author on the same topic.
    pub source_id: Option<String>,
    /// The post's link, the key when the platform gives no source id.
    pub link: Option<String>,
    /// The post's author and the notification's topic, to find an earlier case (a repeat).
    pub author_topic: Option<(String, String)>,
    /// The open cases (a `МОИ ДЕЛА` request lists them).
    pub open_cases: bool,
    /// Every case (an `ОТЧЁТ` request counts them).
    pub all_cases: bool,
    /// Confirmations this message may answer (their nonces): look up their [`Pending`].
    #[serde(default)]
    pub confirmations: Vec<u64>,
    /// A configured person's address: when were confirmations last asked of them?
    #[serde(default)]
    pub asker: Option<String>,
    /// A notification's post, to look up earlier answers to posts like it (the archive).
    #[serde(default)]
    pub similar_to: Option<crate::archive::Query>,
    /// A notification's place ([`crate::repeat::place_key`]) and the earliest detection
    /// time a case it may repeat can have: look up the newest cases there (at most
    /// [`crate::repeat::MAX_CANDIDATES`]), to flag a possible repeat by another author.
    #[serde(default)]
    pub same_place: Option<(String, DateTime<Utc>)>,
}

/// The answers to [`Questions`], and what every decision may need.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    /// The case a reply points to, if it exists.
    pub case: Option<Case>,
    /// The case of the same post (by source id, else by link).
    pub same_post: Option<Case>,
    /// The latest case by the same author on the same topic (any age: the core applies
    /// the repeat window).
    pub earlier: Option<Case>,
    /// Absences announced by email.
    pub absences: Absences,
    /// Open cases, when asked for.
    pub open_cases: Vec<Case>,
    /// Every case, when asked for (the report by mail).
    #[serde(default)]
    pub all_cases: Vec<Case>,
    /// The number a new case would take.
    pub next_case: u64,
    /// The waiting confirmations named by [`Questions::confirmations`] that exist.
    #[serde(default)]
    pub pending: Vec<Pending>,
    /// When confirmations were last asked of [`Questions::asker`] (a few, latest last).
    #[serde(default)]
    pub confirmations_asked: Vec<DateTime<Utc>>,
    /// The message is one its sender has confirmed by replying to our confirmation mail
    /// (the shell decides it again with this set): its sender is proven.
    #[serde(default)]
    pub confirmed: bool,
    /// Earlier answers to posts like the notification's, best first, with their scores
    /// (any score: the core applies `archive.threshold`).
    #[serde(default)]
    pub similar: Vec<crate::archive::Similar>,
    /// The newest cases at the place of [`Questions::same_place`], detected since the time
    /// it names (the core checks every condition again).
    #[serde(default)]
    pub same_place: Vec<Case>,
}

/// The setting a decision is made in, besides the message and the facts: the service's
/// config, key and routing model, and the clock as the shell read it. (The workflow's own
/// `Ctx` is the case's side: config, absences, the event's time.)
#[derive(Clone, Copy)]
pub struct Setting<'a> {
    /// The validated configuration: people, rules, deadlines, the calendar.
    pub config: &'a Config,
    /// The key of the HMAC proofs in our Message-IDs and action codes.
    pub secret: &'a Secret,
    /// The current time, as the shell read it.
    pub now: DateTime<Utc>,
    /// When the message reached the mailbox (the detection time of last resort).
    pub arrival: DateTime<Utc>,
    /// The routing model the shell keeps, learned from earlier cases; `None`: the config's
    /// starter model.
    pub model: Option<&'a crate::routing::Model>,
}

/// What to do about one message.
#[derive(Debug, Clone)]
pub enum Decision {
    /// Nothing to write but the ledger entry.
    Drop {
        /// Where the message is moved.
        disposition: Disposition,
        /// Why, in a line for the ledger.
        note: String,
    },
    /// A self-service answer: mails about no case (recipient, content), absences recorded.
    Service {
        /// The answers to send: recipient address and rendered content.
        mails: Vec<(String, Rendered)>,
        /// Absences to record: executor id and the last day away, `None` when back.
        absences: Vec<(String, Option<NaiveDate>)>,
        /// Mails about cases to send again, as the workflow would (the coordinator back:
        /// the drafts waiting for approval, requested of her again); nothing in the case
        /// changes.
        resend: Vec<(Case, Vec<workflow::Notice>)>,
        /// What was done, in a line for the ledger.
        note: String,
    },
    /// The report by mail (`ОТЧЁТ`): its rows, for the period, to the one who asked; the shell
    /// builds the mail (table, chart, CSV: [`crate::monthly::mail`]).
    Report {
        /// The address of the one who asked.
        to: String,
        /// The period's first day.
        from: NaiveDate,
        /// The period's last day, inclusive.
        until: NaiveDate,
        /// One row per case detected in the period.
        rows: Vec<crate::report::Row>,
        /// The first-choice accuracy of routing over the same cases.
        routing: crate::routing::report::FirstChoice,
        /// What was done, in a line for the ledger.
        note: String,
    },
    /// An action without proof from a configured person: ask them to confirm it by a
    /// reply (docs/keywords.md#confirmations). The shell keeps the message, numbers the
    /// confirmation and mails it ([`crate::templates::render_confirmation`]).
    Confirm {
        /// The person's configured address.
        to: String,
        /// The action, in words (`ОТСУТСТВУЮ ДО 25.12.2026`).
        what: String,
        /// What was done, in a line for the ledger.
        note: String,
    },
    /// A reply confirming a waiting action: the shell decides the kept message again,
    /// as proven ([`Facts::confirmed`]), and marks the confirmation used.
    Confirmed {
        /// The confirmation's number.
        nonce: u64,
        /// What was done, in a line for the ledger.
        note: String,
    },
    /// A case opened (`new`) or changed.
    Case {
        /// The case after the event, with the notices to send.
        outcome: Box<Outcome>,
        /// The case was opened by this message (not an existing one changed).
        new: bool,
        /// How a new case was classified (routed, repeat, excluded, unassigned).
        class: Option<Classification>,
        /// Where the message is moved.
        disposition: Disposition,
        /// What was done, in a line for the ledger.
        note: String,
    },
}

impl Decision {
    fn reject(note: impl Into<String>) -> Decision {
        Decision::Drop {
            disposition: Disposition::Rejected,
            note: note.into(),
        }
    }

    /// Where the message goes.
    pub fn disposition(&self) -> Disposition {
        match self {
            Decision::Drop { disposition, .. } | Decision::Case { disposition, .. } => *disposition,
            Decision::Service { .. }
            | Decision::Report { .. }
            | Decision::Confirm { .. }
            | Decision::Confirmed { .. } => Disposition::Processed,
        }
    }

    /// What was decided, in a line.
    pub fn note(&self) -> &str {
        match self {
            Decision::Drop { note, .. }
            | Decision::Service { note, .. }
            | Decision::Report { note, .. }
            | Decision::Confirm { note, .. }
            | Decision::Confirmed { note, .. }
            | Decision::Case { note, .. } => note,
        }
    }

    /// The case the decision is about.
    pub fn case(&self) -> Option<&Case> {
        match self {
            Decision::Case { outcome, .. } => Some(&outcome.case),
            _ => None,
        }
    }
}

/// The sender's address; empty when the message has none we could answer.
pub(crate) fn sender(mail: &Inbound) -> &str {
    mail.from.as_ref().map(|a| a.email.as_str()).unwrap_or("")
}

/// The case a message replies to: the subject's tag, else one of our Message-IDs it
/// answers.
pub(crate) fn case_number(mail: &Inbound, parsed: &ParsedReply, config: &Config) -> Option<u64> {
    let domain = compose::domain(config);
    parsed.case_number.or_else(|| {
        mail.in_reply_to
            .iter()
            .chain(mail.references.iter())
            .find_map(|id| auth::case_of_id(id, &domain))
    })
}

/// The monitoring platform's notification in the message, as intake reads it, made safe
/// to pass on ([`crate::sender::sanitise`]): `forwarded_at` is when a forward of it reached
/// us (its detection time is then checked against that). Notes for the history come back.
pub(crate) fn read_notification(
    mail: &Inbound,
    config: &Config,
    arrival: DateTime<Utc>,
    forwarded_at: Option<DateTime<Utc>>,
) -> Result<(Notification, Vec<String>), intake::IntakeError> {
    let mut n = intake::parse_notification(
        mail,
        &config.intake.labels,
        config.intake.source_timezone,
        arrival,
    )?;
    let notes = crate::sender::sanitise(&mut n, &config.intake.link_hosts, forwarded_at);
    Ok((n, notes))
}

/// The most confirmations a message is looked up for.
const MAX_CONFIRMATIONS_TRIED: usize = 8;

/// The confirmations a message may answer: the nonces of our no-case Message-IDs it
/// replies to, and the one its subject names.
pub(crate) fn confirmation_candidates(mail: &Inbound, config: &Config) -> Vec<u64> {
    let domain = compose::domain(config);
    let mut out: Vec<u64> = Vec::new();
    let from_subject = crate::sender::confirmation_token(&mail.subject).map(|(n, _)| n);
    let from_ids = mail
        .in_reply_to
        .iter()
        .chain(mail.references.iter())
        .take(MAX_IDS_TRIED)
        .filter_map(|id| auth::parse_our_id(id, &domain))
        .filter(|our| our.case == 0)
        .map(|our| our.nonce);
    for n in from_subject.into_iter().chain(from_ids) {
        if !out.contains(&n) && out.len() < MAX_CONFIRMATIONS_TRIED {
            out.push(n);
        }
    }
    out
}

/// What the shell must look up for [`decide`] to decide about `mail` ([`Triage::questions`]
/// of the message read once).
pub fn questions(mail: &Inbound, config: &Config, arrival: DateTime<Utc>) -> Questions {
    Triage::new(mail, config, arrival).questions(config)
}

/// Is this address one of the configured people: the coordinator, the supervisor, the
/// publisher or an executor? Only they are ever answered.
pub fn configured_person(config: &Config, sender: &str) -> bool {
    !sender.is_empty()
        && (sender == config.people.coordinator.email
            || config
                .people
                .supervisor
                .as_ref()
                .is_some_and(|s| s.email == sender)
            || config.people.publisher.as_deref() == Some(sender)
            || config.coordinator_deputy().as_deref() == Some(sender)
            || config.executor_by_email(sender).is_some())
}

/// A notification forwarded by a configured person (coordinator, supervisor, an executor):
/// the original message, when its sender may open cases. Automatic mail forwards nothing.
pub(crate) fn forwarded_notification(config: &Config, mail: &Inbound) -> Option<Inbound> {
    let sender = sender(mail);
    let person = sender == config.people.coordinator.email
        || config
            .people
            .supervisor
            .as_ref()
            .is_some_and(|s| s.email == sender)
        || config.executor_by_email(sender).is_some();
    if !person || mail.automatic.is_some() || from_monitoring(config, sender) {
        return None;
    }
    crate::forward::forwarded(mail)
        .filter(|inner| from_monitoring(config, intake_sender(config, inner)))
}

pub(crate) fn from_monitoring(config: &Config, sender: &str) -> bool {
    !sender.is_empty() && config.intake.senders.iter().any(|p| p.is_match(sender))
}

/// The sender of a notification: the `From` address, or — for the monitoring platform
/// only, whose mail encodes its whole `From` as `=?utf-8?b?…?=` words — the address
/// decoded from a `Name <addr>` display text, when it is in `intake.senders`. Such an
/// address is never a person's: nobody is recognised, answered or confirmed by it.
pub(crate) fn intake_sender<'a>(config: &Config, mail: &'a Inbound) -> &'a str {
    match (&mail.from, &mail.from_encoded) {
        (Some(a), _) => a.email.as_str(),
        (None, Some(a)) if from_monitoring(config, &a.email) => a.email.as_str(),
        _ => "",
    }
}

/// Does the receiving server vouch for the message's sender (`Authentication-Results`
/// under `intake.trusted_authserv_id`), or has the sender confirmed it by a reply?
fn sender_proven(mail: &Inbound, facts: &Facts, config: &Config) -> bool {
    facts.confirmed
        || crate::authres::sender_proven(
            &mail.auth_results,
            config.intake.trusted_authserv_id.as_deref(),
            sender(mail),
        )
}

/// A reply to one of our confirmation mails: `None` when the message names no waiting
/// confirmation; otherwise the confirmation, or a silent rejection when it does not hold
/// (another sender, a wrong code, used, expired, an automatic reply).
fn confirmation_reply(mail: &Inbound, facts: &Facts, cx: &Setting<'_>) -> Option<Decision> {
    let named = confirmation_candidates(mail, cx.config);
    let pending = facts.pending.iter().find(|p| named.contains(&p.nonce))?;
    let sender = sender(mail);
    let domain = compose::domain(cx.config);
    let by_id = mail
        .in_reply_to
        .iter()
        .chain(mail.references.iter())
        .take(MAX_IDS_TRIED)
        .filter(|id| auth::parse_our_id(id, &domain).is_some_and(|o| o.nonce == pending.nonce))
        .any(|id| cx.secret.verifies(id, 0, sender, &domain));
    let by_code = crate::sender::confirmation_token(&mail.subject).is_some_and(|(n, code)| {
        n == pending.nonce
            && cx
                .secret
                .confirm_matches(&code, pending.nonce, sender, &pending.digest)
    });
    // Only what stands before our own words counts: the confirmation's subject may itself
    // hold `ОТСУТСТВУЮ`, one of the out-of-office words.
    let subject_start = {
        let lower = mail.subject.to_lowercase();
        let cut = ["подтвердите", "please confirm"]
            .iter()
            .filter_map(|w| lower.find(w))
            .min()
            .unwrap_or(lower.len());
        lower[..cut].to_string()
    };
    let why = if sender.is_empty() || sender != pending.sender {
        "from another address than the one asked"
    } else if mail.automatic.is_some() || crate::inbound::autoreply_subject(&subject_start) {
        "an automatic reply confirms nothing"
    } else if !(by_id || by_code) {
        "it does not show the confirmation's code"
    } else if pending.done {
        "already confirmed"
    } else if !pending.open(cx.now) {
        "the confirmation has expired"
    } else {
        return Some(Decision::Confirmed {
            nonce: pending.nonce,
            note: format!(
                "confirmed by {sender} (confirmation {}): {}",
                pending.nonce, pending.what
            ),
        });
    };
    Some(Decision::reject(format!(
        "reply to confirmation {} ({}) not taken: {why}; not answered",
        pending.nonce, pending.what
    )))
}

/// Decides about one message, given the facts the shell looked up for its [`questions`].
pub fn decide(mail: &Inbound, facts: &Facts, cx: &Setting<'_>) -> Decision {
    decide_triaged(Triage::new(mail, cx.config, cx.arrival), facts, cx)
}

/// [`decide`] on a message already read ([`Triage`], at `cx.arrival`), given the facts the
/// shell looked up for its [`Triage::questions`].
pub fn decide_triaged(triage: Triage<'_>, facts: &Facts, cx: &Setting<'_>) -> Decision {
    match decide_inner(triage, facts, cx) {
        // No stream of forged requests may flood a person with confirmations: a few a day.
        Decision::Confirm { to, what, note }
            if facts
                .confirmations_asked
                .iter()
                .filter(|t| cx.now - **t < chrono::Duration::hours(24))
                .count()
                >= crate::sender::MAX_CONFIRMATIONS_A_DAY =>
        {
            Decision::reject(format!(
                "{note}; but {} confirmations were asked of {to} in the last 24 hours: {what} not asked again, not answered",
                crate::sender::MAX_CONFIRMATIONS_A_DAY
            ))
        }
        d => d,
    }
}

fn decide_inner(triage: Triage<'_>, facts: &Facts, cx: &Setting<'_>) -> Decision {
    let config = cx.config;
    let mail = triage.mail;
    let domain = compose::domain(config);
    let sender = sender(mail);
    // Our own mail coming back.
    if sender == config.smtp.from.email
        || mail
            .message_id
            .as_deref()
            .is_some_and(|id| auth::is_ours(id, &domain))
    {
        return Decision::reject("our own message came back");
    }
    // A reply to one of our confirmation mails (they are about no case: checked first).
    if let Some(d) = confirmation_reply(mail, facts, cx) {
        return d;
    }
    let parsed = triage.reply;
    let ctx = Ctx {
        config,
        absences: &facts.absences,
        now: cx.now,
    };
    if let Some(number) = triage.case {
        return match &facts.case {
            Some(case) if case.number == number => {
                reply_to_case(mail, case, parsed, ctx, cx.secret, &domain)
            }
            _ => Decision::reject(format!("reply to unknown case {number}")),
        };
    }
    let proven = sender_proven(mail, facts, config);
    if mail.automatic.is_none()
        && let Some(d) = self_service(config, sender, &parsed, facts, cx, proven)
    {
        return d;
    }
    // The notification to open a case from was read with the message (the forwarded
    // original's, else the platform's own).
    let notification = triage.notification;
    if let Some(inner) = &triage.forwarded {
        // A forward proves nothing by itself: its sender is anyone's to write, and so is
        // the original inside it. Taken in only with proof of the forwarder (the original's
        // own headers were written by whoever built the forward, and prove nothing).
        if !proven {
            return Decision::Confirm {
                to: sender.to_string(),
                what: confirm_forward_words(config, inner),
                note: format!(
                    "notification forwarded by {sender} without proof: confirmation asked"
                ),
            };
        }
        // Taken in as the original (its sender checked, its detection time checked against
        // the forward's arrival); the forwarder gets the case number back.
        let read = notification.unwrap_or_else(|| {
            read_notification(
                inner,
                config,
                inner.date.unwrap_or(cx.arrival),
                Some(cx.arrival),
            )
        });
        let mut decision = open_case(read, facts, ctx, cx.model);
        if let Decision::Case { outcome, note, .. } = &mut decision {
            outcome.notices.push(workflow::Notice {
                to: vec![sender.to_string()],
                kind: workflow::NoticeKind::Confirmation {
                    action: "forwarded".to_string(),
                },
            });
            let how = if facts.confirmed {
                "confirmed by reply"
            } else {
                "Authentication-Results"
            };
            if let Some(created) = outcome.case.history.first_mut() {
                created
                    .detail
                    .push_str(&format!("; forwarded by {sender} (sender proven: {how})"));
            }
            *note = format!("forwarded by {sender} ({how}): {note}");
        }
        return decision;
    }
    let platform = intake_sender(config, mail);
    let from_monitoring = from_monitoring(config, platform);
    match &mail.automatic {
        // The monitoring platform is a robot: its notifications may well say
        // `Auto-Submitted: auto-generated` or `Precedence: bulk`. They are never answered,
        // so taking them in makes no loop; bounces and auto-replies stay out.
        Some(Automatic::AutoSubmitted(_) | Automatic::Precedence(_) | Automatic::MailingList)
            if from_monitoring => {}
        Some(why) => return Decision::reject(format!("automatic message ({why:?}), not a case")),
        None => {}
    }
    if from_monitoring {
        // With a trusted server configured, the platform's address must be vouched for
        // like anyone's: a robot cannot answer a confirmation.
        let proven = proven
            || crate::authres::sender_proven(
                &mail.auth_results,
                config.intake.trusted_authserv_id.as_deref(),
                platform,
            );
        if config.intake.trusted_authserv_id.is_some() && !proven {
            return Decision::reject(format!(
                "notification from {platform} not proven by the Authentication-Results of {}; not answered",
                config.intake.trusted_authserv_id.as_deref().unwrap_or("-")
            ));
        }
        let read =
            notification.unwrap_or_else(|| read_notification(mail, config, cx.arrival, None));
        return open_case(read, facts, ctx, cx.model);
    }
    Decision::reject(if sender.is_empty() {
        "no valid From address, and the message is no reply to a case".to_string()
    } else {
        format!("sender {sender} may not open cases and the message is no reply to a case")
    })
}

/// A forwarded notification, in words for its confirmation.
fn confirm_forward_words(config: &Config, inner: &Inbound) -> String {
    let subject: String = inner.subject.chars().take(120).collect();
    let (subject, _) = crate::sender::defang(&subject, &config.intake.link_hosts);
    match config.service.language {
        crate::config::Language::Ru => {
            format!("завести дело по пересланному уведомлению «{subject}»")
        }
        crate::config::Language::En => {
            format!("open a case from the forwarded notification \"{subject}\"")
        }
    }
}

/// A reply to an existing case: who sent it, with what proof, asking what.
fn reply_to_case(
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
fn coordinator_action(action: &Action) -> bool {
    matches!(
        action,
        Action::Approve | Action::Rework | Action::Assign(_) | Action::Exclude | Action::Close
    )
}

/// A notification from the monitoring platform: a duplicate of a known post, or a new case.
/// `forwarded_at`: when a forward of it reached us; `model`: the routing model after the rules.
fn open_case(
    read: ReadNotification,
    facts: &Facts,
    ctx: Ctx<'_>,
    model: Option<&crate::routing::Model>,
) -> Decision {
    let config = ctx.config;
    let (n, notes) = match read {
        Ok(n) => n,
        Err(e) => return Decision::reject(format!("notification not understood: {e}")),
    };
    // The platform's own repeat mark on a post we know under another source id: a repeat of
    // that case (cl. 10), whatever its age, not the same notification again.
    let marked_repeat_of_post = facts.same_post.as_ref().filter(|c| {
        n.repeat
            && n.source_id.is_some()
            && c.notification.source_id.is_some()
            && c.notification.source_id != n.source_id
    });
    if let Some(case) = facts
        .same_post
        .as_ref()
        .filter(|_| marked_repeat_of_post.is_none())
    {
        let detail = format!(
            "same post notified again (source id {}, link {})",
            n.source_id.as_deref().unwrap_or("-"),
            n.link.as_deref().unwrap_or("-")
        );
        let outcome = workflow::apply(case, Event::Duplicate { detail }, ctx);
        return Decision::Case {
            outcome: Box::new(outcome),
            new: false,
            class: None,
            disposition: Disposition::Processed,
            note: format!("duplicate of {}", case.id),
        };
    }
    // The platform's repeat mark links the earlier case by the same author at any age;
    // without it, only one within the repeat window is a repeat.
    let earlier = marked_repeat_of_post.or_else(|| {
        facts.earlier.as_ref().filter(|c| {
            workflow::within_repeat_window(config, c, &n)
                || (n.repeat && c.notification.detected_at <= n.detected_at)
        })
    });
    let class = workflow::classify_with(config, model, &n, earlier);
    let note = match &class {
        Classification::Excluded { .. } => "excluded (clause 12)".to_string(),
        Classification::Repeat { of, .. } => format!("repeat of {of}"),
        Classification::Routed { rule, executor, .. } => {
            format!("routed by «{rule}» to {executor}")
        }
        Classification::Modelled {
            executor,
            confidence,
            ..
        } => format!(
            "routed by the routing model to {executor} ({} %)",
            confidence.percent()
        ),
        Classification::Unmatched { suggestions, .. } => match suggestions.first() {
            Some(s) => format!(
                "no rule matched, the model is not sure (best {} at {} %): unassigned",
                s.executor,
                s.probability.percent()
            ),
            None => "no rule matched".to_string(),
        },
    };
    let mut outcome = workflow::open(facts.next_case, n, class.clone(), ctx);
    if !notes.is_empty()
        && let Some(created) = outcome.case.history.first_mut()
    {
        created.detail.push_str(&format!("; {}", notes.join("; ")));
    }
    // Earlier answers help whoever answers; an excluded post is answered by nobody.
    if !matches!(class, Classification::Excluded { .. }) {
        outcome.case.similar =
            crate::archive::offered(&facts.similar, config.archive.threshold, &outcome.case.id);
    }
    // Another author about the same problem at the same place: flagged to the coordinator
    // (cl. 10), the case routed as usual meanwhile. A repeat by the author rule, or an
    // excluded post, needs no flag.
    let mut note = note;
    if !matches!(
        class,
        Classification::Excluded { .. } | Classification::Repeat { .. }
    ) && let Some(flag) = crate::repeat::possible_repeat(
        config,
        &outcome.case.notification,
        &facts.same_place,
        &outcome.case.id,
    ) {
        note.push_str(&format!(
            "; possible repeat of {} by another author ({} %)",
            flag.of, flag.percent
        ));
        if let Some(created) = outcome.case.history.first_mut() {
            created.detail.push_str(&format!(
                "; possible repeat of {} (another author, same place, {} % alike)",
                flag.of, flag.percent
            ));
        }
        outcome.case.possible_repeat = Some(flag);
        workflow::flag_to_coordinator(&mut outcome, ctx);
    }
    Decision::Case {
        outcome: Box::new(outcome),
        new: true,
        class: Some(class),
        disposition: Disposition::Processed,
        note,
    }
}

/// `МОИ ДЕЛА`, `ОТСУТСТВУЮ ДО`, `НА МЕСТЕ` from a known person. `None` when the message is
/// no such request. Answers go only to the person's configured address.
fn self_service(
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
    let refuse = |reason: &str| {
        Some(Decision::Service {
            mails: vec![(
                address.clone(),
                templates::render_service_refusal(config, reason),
            )],
            absences: Vec::new(),
            resend: Vec::new(),
            note: format!("self-service refused: {reason}"),
        })
    };
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
    let date = |d: &NaiveDate| {
        if en {
            d.format("%Y-%m-%d").to_string()
        } else {
            d.format("%d.%m.%Y").to_string()
        }
    };
    match keyword {
        Keyword::MyCases if !proven => ask(keyword::word(Word::MyCases, en).to_string()),
        Keyword::MyCases => {
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
                    code: cx.secret.action_code(c.number, &address),
                })
                .collect();
            let rendered =
                templates::render_queue(config, &items, overseer, cx.now, &config.smtp.from.email);
            Some(Decision::Service {
                mails: vec![(address.clone(), rendered)],
                absences: Vec::new(),
                resend: Vec::new(),
                note: format!("my cases: {} to {address}", items.len()),
            })
        }
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
                ask(format!(
                    "{} {} {}",
                    keyword::word(Word::Absent, en),
                    if en { "UNTIL" } else { "ДО" },
                    date(until)
                ))
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
            Some(_) if !proven => ask(format!(
                "{} {} {}",
                keyword::word(Word::Absent, en),
                if en { "UNTIL" } else { "ДО" },
                date(until)
            )),
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
        Keyword::Report(from, until) if overseer => Some(Decision::Report {
            to: address.clone(),
            from: *from,
            until: *until,
            rows: crate::report::build_at(config, &facts.all_cases, *from, *until, Some(cx.now)),
            routing: crate::routing::report::FirstChoice::of(
                config,
                &facts.all_cases,
                *from,
                *until,
            ),
            note: format!("report {from}..{until} to {address}"),
        }),
        Keyword::Report(..) => refuse("ОТЧЁТ / REPORT is for the coordinator and the supervisor"),
        Keyword::Invalid(what) => refuse(what),
        Keyword::Conflict { subject, body } => refuse(&conflict_question(subject, body)),
        _ => None,
    }
}

/// An executor away until a date (`Some`) or back (`None`): told, and the coordinator too.
fn absence(config: &Config, e: &crate::config::Executor, until: Option<NaiveDate>) -> Decision {
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
fn coordinator_absence(config: &Config, until: Option<NaiveDate>, facts: &Facts) -> Decision {
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

/// `text` without the action codes of `codes`, with or without `#` (or its URL-encoded
/// `%23`); the lines they stood alone on go too.
fn without_codes(text: &str, codes: &[String]) -> String {
    if codes.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let mut kept = String::with_capacity(line.len());
        let mut last = 0;
        for (i, word) in words(line) {
            // `#code`, `code`, or `%23code` as a quoted `mailto:` link writes it (`%` is no
            // word character, so the word is `23code`).
            let (start, bare) = match word.strip_prefix("23") {
                Some(rest) if i > last && line.as_bytes()[i - 1] == b'%' => (i - 1, rest),
                _ => (i, word.strip_prefix('#').unwrap_or(word)),
            };
            if codes.iter().any(|c| c.eq_ignore_ascii_case(bare)) {
                kept.push_str(&line[last..start]);
                last = i + word.len();
            }
        }
        kept.push_str(&line[last..]);
        if kept.trim().is_empty() && !line.trim().is_empty() {
            continue;
        }
        out.push_str(&kept);
    }
    out.trim_end().to_string()
}

/// What a reply proves: that it answers our mail to its sender, and in which approval round.
struct Proof {
    /// The newest approval round among the Message-IDs and action codes of ours the reply
    /// carries for its sender (0: one without a round); `None`: no proof at all.
    answered: Option<u64>,
    /// The bare (typed without `#`) words of the reply that are its sender's codes.
    bare: Vec<String>,
}

impl Proof {
    fn of(
        mail: &Inbound,
        parsed: &ParsedReply,
        case: &Case,
        sender: &str,
        secret: &Secret,
        domain: &str,
    ) -> Proof {
        // The sender's own codes for this case, of the rounds still tried. Typed with `#`,
        // or bare where a bare one counts (a line of its own, or a word of the subject). At
        // most a few candidates of each kind are tried, so no list of guesses can pass.
        let known = secret.round_codes(case.number, sender, case.approval_round);
        let mut bare = Vec::new();
        let mut rounds: Vec<u64> = Vec::new();
        for word in bare_codes(&mail.subject, &parsed.text).take(MAX_CODES_TRIED) {
            if let Some(r) = auth::code_round(word, &known) {
                rounds.push(r);
                bare.push(word.to_ascii_lowercase());
            }
        }
        rounds.extend(
            parsed
                .codes
                .iter()
                .take(MAX_CODES_TRIED)
                .filter_map(|c| auth::code_round(c, &known)),
        );
        rounds.extend(
            mail.in_reply_to
                .iter()
                .chain(mail.references.iter())
                .take(MAX_IDS_TRIED)
                .filter_map(|id| secret.verified_round(id, case.number, sender, domain)),
        );
        Proof {
            answered: rounds.into_iter().max(),
            bare,
        }
    }
}

/// The question sent back when the subject and the text name different keywords.
fn conflict_question(subject: &str, body: &str) -> String {
    format!(
        "your subject says {subject} but your text starts with {body}, so nothing was done. \
         Which did you mean? Reply with one of them: as the first word of your text, \
         and the subject without the other"
    )
}

/// Refusal mails carry approval round `round` (see [`workflow::NoticeKind::Refused`]).
fn set_refusal_round(outcome: &mut Outcome, round: u64) {
    for n in &mut outcome.notices {
        if let workflow::NoticeKind::Refused { round: r, .. } = &mut n.kind {
            *r = round;
        }
    }
}

/// How many `#` codes and Message-IDs of a message are tried as proof.
const MAX_CODES_TRIED: usize = 8;
const MAX_IDS_TRIED: usize = 64;

/// Refusals of one sender on one case kept in its history; past that, only the ledger.
const REFUSALS_IN_HISTORY: usize = 3;

/// The refusals one sender already had on a case.
struct Refusals {
    total: usize,
    /// One within the last 24 hours (explained then; not again today).
    today: bool,
}

impl Refusals {
    fn of(case: &Case, sender: &str, now: DateTime<Utc>) -> Refusals {
        let mut r = Refusals {
            total: 0,
            today: false,
        };
        for h in case
            .history
            .iter()
            .filter(|h| h.event == HistoryEvent::RejectedReply && h.by == sender)
        {
            r.total += 1;
            r.today |= now - h.at < chrono::Duration::hours(24);
        }
        r
    }
}

/// The words of a line with their byte offsets: runs of letters, digits and `#`.
fn words(line: &str) -> impl Iterator<Item = (usize, &str)> {
    line.split(|c: char| !(c.is_alphanumeric() || c == '#'))
        .filter(|w| !w.is_empty())
        .map(move |w| (w.as_ptr() as usize - line.as_ptr() as usize, w))
}

/// Could this word be an action code (8 characters of the codes' alphabet)?
fn code_shaped(w: &str) -> bool {
    w.len() == 8
        && w.bytes()
            .all(|b| matches!(b.to_ascii_lowercase(), b'a'..=b'z' | b'2'..=b'9'))
}

/// Bare action codes as people type them: the words of the subject, and lines of the text
/// that hold one word only.
fn bare_codes<'a>(subject: &'a str, text: &'a str) -> impl Iterator<Item = &'a str> {
    let from_subject = words(subject).map(|(_, w)| w);
    let from_lines = text.lines().filter_map(|l| {
        let mut ws = words(l).map(|(_, w)| w);
        match (ws.next(), ws.next()) {
            (Some(w), None) => Some(w),
            _ => None,
        }
    });
    from_subject.chain(from_lines).filter(|w| code_shaped(w))
}
