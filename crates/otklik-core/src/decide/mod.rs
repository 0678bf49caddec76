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
use crate::routing::Absences;
use crate::sender::Pending;
use crate::templates::Rendered;
use crate::triage::{
    MAX_IDS_TRIED, ReadNotification, Triage, confirmation_candidates, from_monitoring,
    intake_sender, read_notification, sender,
};
pub use crate::triage::{Questions, configured_person};
use crate::workflow::{self, Case, Classification, Ctx, Outcome};

mod codes;
mod open;
mod reply;
mod self_service;

use open::open_case;
use reply::reply_to_case;
use self_service::self_service;

/// What became of an inbound message: where it is moved after the commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// Taken in: a case opened or changed, a request answered.
    Processed,
    /// Not taken in (recorded with the reason).
    Rejected,
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
        routing: crate::learning::report::FirstChoice,
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

/// What the shell must look up for [`decide`] to decide about `mail` ([`Triage::questions`]
/// of the message read once).
pub fn questions(mail: &Inbound, config: &Config, arrival: DateTime<Utc>) -> Questions {
    Triage::new(mail, config, arrival).questions(config)
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
        return forwarded(inner, notification, sender, proven, facts, ctx, cx);
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

/// A notification a configured person forwarded: a confirmation asked while the forwarder
/// is not proven, else the case opened from the original, the forwarder told its number.
fn forwarded(
    inner: &Inbound,
    notification: Option<ReadNotification>,
    sender: &str,
    proven: bool,
    facts: &Facts,
    ctx: Ctx<'_>,
    cx: &Setting<'_>,
) -> Decision {
    let config = cx.config;
    // A forward proves nothing by itself: its sender is anyone's to write, and so is
    // the original inside it. Taken in only with proof of the forwarder (the original's
    // own headers were written by whoever built the forward, and prove nothing).
    if !proven {
        return Decision::Confirm {
            to: sender.to_string(),
            what: confirm_forward_words(config, inner),
            note: format!("notification forwarded by {sender} without proof: confirmation asked"),
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
    decision
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
