//! The config file as written: every key of docs/configuration.md, all optional at this level (missing
//! required keys are reported by validation, with the others), unknown keys refused by serde.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

pub(super) type Str = Spanned<String>;
pub(super) type StrList = Spanned<Vec<Str>>;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawService {
    pub state_dir: Option<Str>,
    pub case_prefix: Option<Str>,
    pub language: Option<Str>,
    pub digest_at: Option<Str>,
    pub max_absence: Option<Str>,
    pub retention: Option<Str>,
    pub monthly_report: Option<Spanned<bool>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawImap {
    pub host: Option<Str>,
    pub port: Option<Spanned<i64>>,
    pub tls: Option<Str>,
    pub username: Option<Str>,
    pub password_file: Option<Str>,
    pub password_env: Option<Str>,
    pub mailbox: Option<Str>,
    pub processed_mailbox: Option<Str>,
    pub rejected_mailbox: Option<Str>,
    pub poll_seconds: Option<Spanned<i64>>,
    pub max_message_size: Option<Spanned<RawSize>>,
    pub ca_file: Option<Str>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSmtp {
    pub host: Option<Str>,
    pub port: Option<Spanned<i64>>,
    pub tls: Option<Str>,
    pub username: Option<Str>,
    pub password_file: Option<Str>,
    pub password_env: Option<Str>,
    pub from: Option<Str>,
    pub ca_file: Option<Str>,
    pub connections: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCalendar {
    pub timezone: Option<Str>,
    pub preset: Option<Str>,
    pub workdays: Option<StrList>,
    pub hours: Option<StrList>,
    pub holidays: Option<StrList>,
    pub working_days: Option<StrList>,
    pub shortened_days: Option<StrList>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDeadlineSet {
    pub answer: Option<Str>,
    pub draft_before_answer: Option<Str>,
    pub rework: Option<Str>,
    pub final_after_interim: Option<Str>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDeadlines {
    pub answer: Option<Str>,
    pub draft_before_answer: Option<Str>,
    pub rework: Option<Str>,
    pub final_after_interim: Option<Str>,
    pub categories: Option<BTreeMap<Str, RawDeadlineSet>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPerson {
    pub name: Option<Str>,
    pub email: Option<Str>,
    pub position: Option<Str>,
    /// Coordinator only: a notice per new case (default true).
    pub new_cases: Option<Spanned<bool>>,
    /// Coordinator only: who acts for her while she is away (an executor id or an address).
    pub deputy: Option<Str>,
    /// Coordinator only: the periods she is away.
    pub absent: Option<StrList>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPeople {
    pub coordinator: Option<Spanned<RawPerson>>,
    pub supervisor: Option<Spanned<RawPerson>>,
    pub publisher: Option<Str>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawExecutor {
    pub id: Option<Str>,
    pub name: Option<Str>,
    pub position: Option<Str>,
    pub email: Option<Str>,
    pub deputy: Option<Str>,
    pub absent: Option<StrList>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRule {
    pub name: Option<Str>,
    pub topic: Option<StrList>,
    pub location: Option<StrList>,
    pub category: Option<StrList>,
    pub text: Option<StrList>,
    pub words: Option<StrList>,
    pub phrases: Option<StrList>,
    pub executor: Option<Str>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRouting {
    pub auto_threshold: Option<Spanned<f64>>,
    pub model: Option<Spanned<bool>>,
    pub starter_corpus: Option<Str>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEscalation {
    pub deadline: Option<Str>,
    pub at: Option<Str>,
    pub notify: Option<StrList>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawIntake {
    pub senders: Option<StrList>,
    pub exclude_words_file: Option<Str>,
    pub repeat_window: Option<Str>,
    pub source_timezone: Option<Str>,
    pub labels: Option<BTreeMap<Str, StrList>>,
    pub trusted_authserv_id: Option<Str>,
    pub link_hosts: Option<StrList>,
}

/// A size: a number of bytes, or text such as `"25MB"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum RawSize {
    Bytes(i64),
    Text(String),
}

/// `[archive]`: earlier approved answers offered with a new case.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawArchive {
    pub threshold: Option<Spanned<f64>>,
}
