//! What cannot be handled the ordinary way: a message set aside (it took the process
//! down, or a record it needs is damaged) and one too large to fetch are recorded as
//! rejected and the coordinator told; such a message is read without being parsed.

use chrono::{DateTime, Utc};

use otklik_core::compose;
use otklik_core::config::Config;
use otklik_core::inbound::Inbound;
use otklik_core::workflow;

use super::{HandleError, Handled, Intake};
use crate::store::{Commit, StoreError, inbound_key};

impl Intake {
    /// Queues `content` to the coordinator in `commit` (a notice about a message, no case);
    /// a notice that cannot be built is logged, and the message's own record still goes in.
    fn tell_coordinator(
        &self,
        config: &Config,
        commit: &mut Commit,
        content: &otklik_core::templates::Rendered,
        now: DateTime<Utc>,
        about: &str,
    ) -> Result<(), StoreError> {
        let envelope = compose::Envelope {
            config,
            secret: &self.secret,
            case: 0,
            case_id: None,
            to: &config.people.coordinator.email,
            nonce: self.store.generate_id()?,
            now,
        };
        match compose::build(&envelope, content) {
            Ok(mail) => commit.outbox.push(mail),
            Err(e) => tracing::error!(error = %e, "the notice of {about} cannot be built"),
        }
        Ok(())
    }

    /// A message that cannot be handled for a reason of its own — it took the process down,
    /// or a store record it needs is damaged: recorded as rejected under its bytes' hash,
    /// the mark cleared and the coordinator told, in one transaction, flushed.
    pub(super) fn set_aside(
        &self,
        config: &Config,
        raw: &[u8],
        reason: String,
        now: DateTime<Utc>,
    ) -> Result<Handled, HandleError> {
        let key = inbound_key(None, None, raw);
        tracing::error!(size = raw.len(), %reason, "message set aside");
        let (mut commit, handled) = Self::rejection(key, reason.clone(), now);
        commit.clears_mark = true;
        let (from, subject) = (raw_field(raw, "From"), raw_field(raw, "Subject"));
        let content = otklik_core::templates::render_set_aside(config, &from, &subject, &reason);
        self.tell_coordinator(config, &mut commit, &content, now, "a message set aside")?;
        self.store.commit(commit)?;
        self.store.flush_blocking()?;
        Ok(handled)
    }

    /// A message over `imap.max_message_size`, of which only the header was read: recorded
    /// in the ledger as rejected and the coordinator told, once (a second report of the
    /// same message, after a restart, is a replay).
    pub fn oversized(
        &self,
        config: &Config,
        header: &[u8],
        size: u64,
        now: DateTime<Utc>,
    ) -> Result<Handled, HandleError> {
        let _writer = self.store.writer();
        let parsed = Inbound::parse(header).ok();
        let mid = parsed.as_ref().and_then(|m| m.message_id.as_deref());
        let sender = parsed
            .as_ref()
            .and_then(|m| m.from.as_ref())
            .map(|a| a.email.as_str());
        let key = inbound_key(mid, sender, format!("oversized {size}\n\n").as_bytes());
        if let Some(rec) = self.store.inbound(&key)? {
            self.store.flush_blocking()?;
            return Ok(Handled {
                disposition: rec.disposition,
                case: None,
                note: rec.note,
                replay: true,
            });
        }
        let limit = config.imap.max_message_size;
        let subject = parsed.as_ref().map(|m| m.subject.as_str()).unwrap_or("");
        let content = otklik_core::templates::render_oversized(
            config,
            sender.unwrap_or("-"),
            subject,
            size,
            limit,
        );
        let note = format!("too large: {size} bytes, the limit is {limit}");
        let (mut commit, handled) = Self::rejection(key, note, now);
        self.tell_coordinator(config, &mut commit, &content, now, "a too large message")?;
        self.store.commit(commit)?;
        self.store.flush_blocking()?;
        Ok(handled)
    }
}

/// A deadline in a year whose production calendar is only a forecast deserves a look.
pub(super) fn warn_if_forecast(config: &Config, case: &workflow::Case) {
    if let Some(answer) = case.deadlines.answer {
        let day = workflow::local_date(config, answer);
        if config.calendar.is_predicted(day) {
            tracing::warn!(case = %case.id, %day, "the answer deadline falls in a year whose production calendar is only a forecast; check the decree");
        }
    }
}

/// Why a message was set aside for a damaged record (`otklik check-store` lists them all).
pub(super) fn damaged_reason(e: &StoreError) -> String {
    format!("a stored record it needs is damaged ({e}); set aside, run `otklik check-store`")
}

/// Tests make the process die here, between the mark and the parser, as a parser bug
/// would: built with `--features failpoints` and run with `FAILPOINTS=handle=return(TEXT)`,
/// the process aborts on a message that contains TEXT (on every message with
/// `FAILPOINTS=handle=return`). Without the feature this is nothing.
#[cfg_attr(not(feature = "failpoints"), allow(unused_variables))]
pub(super) fn crash_point(raw: &[u8]) {
    fail::fail_point!("handle", |needle: Option<String>| {
        let hit =
            needle.is_none_or(|n| n.is_empty() || raw.windows(n.len()).any(|w| w == n.as_bytes()));
        if hit {
            std::process::abort();
        }
    });
}

/// The raw value of the first header field `name` of `raw`, read without parsing the
/// message (whatever is in it must not be able to take the process down again): unfolded,
/// at most 200 characters, "-" when absent.
fn raw_field(raw: &[u8], name: &str) -> String {
    let head = &raw[..raw.len().min(64 * 1024)];
    let mut lines = head.split(|&b| b == b'\n');
    let mut value: Option<Vec<u8>> = None;
    for line in lines.by_ref() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        match &mut value {
            Some(v) if line.first().is_some_and(|b| *b == b' ' || *b == b'\t') => {
                v.extend_from_slice(line);
            }
            Some(_) => break,
            None => {
                if line.len() > name.len()
                    && line[..name.len()].eq_ignore_ascii_case(name.as_bytes())
                    && line[name.len()] == b':'
                {
                    value = Some(line[name.len() + 1..].to_vec());
                }
            }
        }
    }
    let text = String::from_utf8_lossy(value.as_deref().unwrap_or(b"-"));
    let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let text: String = text.chars().take(200).collect();
    if text.is_empty() { "-".into() } else { text }
}
