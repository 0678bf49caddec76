//! Intake of a monitoring notification (SPEC §5.3, SAMPLES.md): labelled fields read from
//! the text, wherever and however they appear. Pure.
//!
//! STUB: types fixed; the intake helper writes the parser.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::inbound::{Attachment, Inbound};

/// The fields a label can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    SourceId,
    Topic,
    Location,
    Category,
    Source,
    Link,
    Author,
    DetectedAt,
    Text,
    Repeat,
}

impl Field {
    /// The name used in `[intake.labels]` (`source_id`, `topic`, …).
    pub fn from_key(key: &str) -> Option<Field> {
        Some(match key {
            "source_id" => Field::SourceId,
            "topic" => Field::Topic,
            "location" => Field::Location,
            "category" => Field::Category,
            "source" => Field::Source,
            "link" => Field::Link,
            "author" => Field::Author,
            "detected_at" => Field::DetectedAt,
            "text" => Field::Text,
            "repeat" => Field::Repeat,
            _ => return None,
        })
    }
}

/// The label vocabulary: the built-in labels of SAMPLES.md plus the admin's extras.
#[derive(Debug, Clone, Default)]
pub struct Labels {
    _private: (),
}

impl Labels {
    pub fn builtin() -> Labels {
        Labels::default()
    }

    /// Adds extra labels for a field (from `[intake.labels]`).
    pub fn add(&mut self, field: Field, label: &str) {
        let _ = (field, label);
    }
}

/// A notification as read from the monitoring platform's mail.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Notification {
    pub source_id: Option<String>,
    pub topic: Option<String>,
    pub location: Option<String>,
    pub category: Option<String>,
    pub source: Option<String>,
    pub link: Option<String>,
    pub author: Option<String>,
    /// From the label, else the Date header, else arrival.
    pub detected_at: DateTime<Utc>,
    pub text: String,
    /// "Повторное: да", or `Повторн` in the subject.
    pub repeat: bool,
    pub attachments: Vec<Attachment>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntakeError {
    #[error("the notification has no post text")]
    NoText,
    #[error("the notification has neither a topic nor a link")]
    NoTopicOrLink,
}

/// Read a notification out of a parsed message.
pub fn parse_notification(
    mail: &Inbound,
    labels: &Labels,
    source_tz: Tz,
    arrival: DateTime<Utc>,
) -> Result<Notification, IntakeError> {
    let _ = (mail, labels, source_tz, arrival);
    todo!("intake helper")
}
