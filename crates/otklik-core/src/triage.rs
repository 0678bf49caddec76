//! One inbound message read once: the reading of it as a reply, the case it points to, the
//! notification a configured person forwarded, and the notification to open a case from.
//! [`crate::decide::questions`] asks the store on its grounds, [`crate::decide::decide`]
//! decides on it, and `otklik route` shows the same, so no part of a message is parsed
//! twice on its way through.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::auth;
use crate::compose;
use crate::config::Config;
use crate::inbound::Inbound;
use crate::intake::{self, IntakeError, Notification};
use crate::reply::{self, Keyword, ParsedReply};

/// A notification as intake reads it and made safe, with notes for the case's history; or
/// why it is not one.
pub type ReadNotification = Result<(Notification, Vec<String>), IntakeError>;

/// One message, read once.
#[derive(Debug, Clone)]
pub struct Triage<'m> {
    /// The message.
    pub mail: &'m Inbound,
    /// When it reached the mailbox (the detection time of last resort).
    pub arrival: DateTime<Utc>,
    /// The message read as a reply: the subject's tag, the keyword, the action codes.
    pub reply: ParsedReply,
    /// The case it replies to: the subject's tag, else one of our Message-IDs it answers.
    pub case: Option<u64>,
    /// The platform's notification a configured person forwarded (the original message),
    /// when they may forward one; never for a reply to a case's thread.
    pub forwarded: Option<Inbound>,
    /// The notification to open a case from (the forwarded original's, else the message's
    /// own), when the message is no reply to a case and comes from the platform;
    /// `None` otherwise.
    pub notification: Option<ReadNotification>,
}

impl<'m> Triage<'m> {
    /// Reads `mail`, which arrived at `arrival`.
    pub fn new(mail: &'m Inbound, config: &Config, arrival: DateTime<Utc>) -> Triage<'m> {
        let reply = reply::parse_reply(mail, &config.service.case_prefix);
        let case = case_number(mail, &reply, config);
        let forwarded = case
            .is_none()
            .then(|| forwarded_notification(config, mail))
            .flatten();
        let notification = match (&forwarded, case) {
            (_, Some(_)) => None,
            // A forward is read as the original, its detection time checked against the
            // forward's arrival.
            (Some(inner), None) => Some(read_notification(
                inner,
                config,
                inner.date.unwrap_or(arrival),
                Some(arrival),
            )),
            (None, None) if from_monitoring(config, intake_sender(config, mail)) => {
                Some(read_notification(mail, config, arrival, None))
            }
            (None, None) => None,
        };
        Triage {
            mail,
            arrival,
            reply,
            case,
            forwarded,
            notification,
        }
    }

    /// What the shell must look up for [`crate::decide::decide_triaged`] to decide.
    pub fn questions(&self, config: &Config) -> Questions {
        let mail = self.mail;
        let mut q = Questions {
            case: self.case,
            // `НА МЕСТЕ` from the coordinator: the drafts waiting for her are requested again.
            open_cases: matches!(
                self.reply.keyword,
                Some((Keyword::MyCases | Keyword::Back, _))
            ),
            all_cases: matches!(self.reply.keyword, Some((Keyword::Report(..), _))),
            confirmations: confirmation_candidates(mail, config),
            asker: Some(sender(mail).to_string()).filter(|s| configured_person(config, s)),
            ..Questions::default()
        };
        if let Some(Ok((n, _))) = &self.notification {
            q.similar_to = Some(crate::archive::Query {
                text: n.text.clone(),
                topic: n.topic.clone().unwrap_or_default(),
                location: n.location.clone().unwrap_or_default(),
            });
            let place = crate::repeat::place_key(n.location.as_deref().unwrap_or(""));
            if !place.is_empty() {
                q.same_place = Some((place, n.detected_at - config.intake.repeat_window));
            }
            q.source_id = n.source_id.clone();
            q.link = n.link.clone();
            q.author_topic = n.author.clone().zip(n.topic.clone());
        }
        q
    }
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

/// The most Message-IDs of a message looked at for our own.
pub(crate) const MAX_IDS_TRIED: usize = 64;
