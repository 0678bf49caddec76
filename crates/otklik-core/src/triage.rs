//! One inbound message read once: the reading of it as a reply, the case it points to, the
//! notification a configured person forwarded, and the notification to open a case from.
//! [`crate::decide::questions`] asks the store on its grounds, [`crate::decide::decide`]
//! decides on it, and `otklik route` shows the same, so no part of a message is parsed
//! twice on its way through.

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::decide::{
    Questions, case_number, configured_person, confirmation_candidates, forwarded_notification,
    from_monitoring, intake_sender, read_notification, sender,
};
use crate::inbound::Inbound;
use crate::intake::{IntakeError, Notification};
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
