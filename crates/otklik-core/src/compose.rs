//! Turns rendered notices into RFC 5322 messages ready for the outbox (the headers of every service mail:
//! `[PREFIX-N]` subject, `X-Otklik-Case`, `Auto-Submitted: auto-generated`, an HMAC-signed
//! Message-ID on the service's domain, In-Reply-To/References to the case's thread).
//! Pure: the time and the nonces are passed in.

use std::time::SystemTime;

use chrono::{DateTime, Utc};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment as MimeAttachment, Mailbox, MultiPart, SinglePart};
use serde::{Deserialize, Serialize};

use crate::auth::Secret;
use crate::config::Config;
use crate::inbound::Attachment;
use crate::templates::{self, Rendered, View};
use crate::workflow::{Case, Notice, NoticeKind};

/// A message waiting in the outbox: built once, sent as is (same bytes, same Message-ID).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutMail {
    /// The outbox's key for this mail: the nonce it was built with, unique per mail.
    pub seq: u64,
    /// The number of the case the mail is about; `None` for mail about no case.
    pub case: Option<u64>,
    /// The HMAC-signed Message-ID, without angle brackets.
    pub message_id: String,
    /// The SMTP envelope sender: the service's address, `smtp.from.email`.
    pub envelope_from: String,
    /// The SMTP envelope recipients (one address per mail built here).
    pub to: Vec<String>,
    /// The message as sent. The store keeps it apart from the rest of the record, as bytes
    /// (records written before carried it inline, and are still read).
    #[serde(default, skip_serializing)]
    pub raw: Vec<u8>,
    /// Failed sending attempts so far; 0 when built, and the base of the retry backoff.
    pub attempts: u32,
    /// When the sender may try next; the build time for a new mail.
    pub next_attempt: DateTime<Utc>,
    /// The SMTP server's last refusal or the transport error, if any attempt failed.
    pub last_error: Option<String>,
    /// When the mail was built and queued.
    pub created: DateTime<Utc>,
}

/// A mail could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    /// An address (the service's or the recipient's) is not a valid email address.
    #[error("invalid address {0:?}")]
    Address(String),
    /// The message builder refused the headers or parts.
    #[error("cannot build the message: {0}")]
    Build(#[from] lettre::error::Error),
    /// Fewer message numbers were reserved than there are mails to build.
    #[error("{needed} message numbers needed, {given} reserved")]
    Numbers {
        /// The mails to build.
        needed: usize,
        /// The numbers reserved for them.
        given: usize,
    },
}

/// The domain of the service's address (the right side of its Message-IDs).
pub fn domain(config: &Config) -> String {
    config
        .smtp
        .from
        .email
        .rsplit_once('@')
        .map(|(_, d)| d.to_string())
        .unwrap_or_else(|| "otklik.invalid".to_string())
}

fn mailbox(name: Option<&str>, email: &str) -> Result<Mailbox, ComposeError> {
    let addr = email
        .parse()
        .map_err(|_| ComposeError::Address(email.to_string()))?;
    Ok(Mailbox::new(name.map(str::to_string), addr))
}

fn raw_header(name: &str, value: String) -> Option<HeaderValue> {
    HeaderName::new_from_ascii(name.to_string())
        .ok()
        .map(|n| HeaderValue::new(n, value))
}

/// One message, fully built.
pub struct Envelope<'a> {
    /// The configuration: the sender (`smtp.from`), its domain and the calendar's time zone.
    pub config: &'a Config,
    /// The key that signs the Message-ID and the thread's id.
    pub secret: &'a Secret,
    /// 0 for mail about no case.
    pub case: u64,
    /// The case's tag (`OTK-42`) for the `X-Otklik-Case` header; `None` for mail about no case.
    pub case_id: Option<&'a str>,
    /// The single recipient's address.
    pub to: &'a str,
    /// A number never used before, from the store: it makes the Message-ID unique and
    /// becomes the outbox key.
    pub nonce: u64,
    /// The build time: the `Date:` header and the outbox timestamps.
    pub now: DateTime<Utc>,
}

/// Builds the raw message for one recipient.
pub fn build(env: &Envelope<'_>, content: &Rendered) -> Result<OutMail, ComposeError> {
    build_in_round(env, content, 0)
}

/// Builds the raw message for one recipient, its Message-ID bound to approval round `round`
/// (0: no round; see [`crate::auth`]).
pub fn build_in_round(
    env: &Envelope<'_>,
    content: &Rendered,
    round: u64,
) -> Result<OutMail, ComposeError> {
    let config = env.config;
    let domain = domain(config);
    let message_id = env
        .secret
        .message_id_in_round(env.case, env.to, env.nonce, round, &domain);
    let from = mailbox(config.smtp.from.name.as_deref(), &config.smtp.from.email)?;
    let mut builder = lettre::Message::builder()
        .from(from)
        .to(mailbox(None, env.to)?)
        .subject(content.subject.clone())
        .date(SystemTime::from(env.now))
        .message_id(Some(format!("<{message_id}>")));
    if env.case != 0 {
        let thread = format!("<{}>", env.secret.thread_id(env.case, &domain));
        builder = builder.in_reply_to(thread.clone()).references(thread);
    }
    let mut headers = vec![
        ("Auto-Submitted", "auto-generated".to_string()),
        // Outlook: no out-of-office replies to us.
        ("X-Auto-Response-Suppress", "All".to_string()),
    ];
    if let Some(id) = env.case_id {
        headers.push(("X-Otklik-Case", id.to_string()));
    }
    for (name, value) in headers {
        if let Some(h) = raw_header(name, value) {
            builder = builder.raw_header(h);
        }
    }
    let text = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .body(content.text.clone());
    // Photos the HTML shows (`cid:`) travel with it in multipart/related; the rest of the
    // attachments, and the calendar, follow the alternative in multipart/mixed.
    let inline = inline_images(content, env.case_id);
    let body = match &content.html {
        Some(html) => {
            let html_part = SinglePart::html(html.clone());
            let alternative = MultiPart::alternative().singlepart(text);
            Body::Multi(if inline.is_empty() {
                alternative.singlepart(html_part)
            } else {
                let mut related = MultiPart::related().singlepart(html_part);
                for (cid, a) in &inline {
                    related = related.singlepart(inline_part(cid, a));
                }
                alternative.multipart(related)
            })
        }
        None => Body::Single(text),
    };
    let rest: Vec<&Attachment> = content
        .attachments
        .iter()
        .filter(|a| !inline.iter().any(|(_, i)| std::ptr::eq(*i, *a)))
        .collect();
    let message = if rest.is_empty() && content.calendar.is_none() {
        match body {
            Body::Single(part) => builder.singlepart(part)?,
            Body::Multi(part) => builder.multipart(part)?,
        }
    } else {
        let mut mixed = match body {
            Body::Single(part) => MultiPart::mixed().singlepart(part),
            Body::Multi(part) => MultiPart::mixed().multipart(part),
        };
        if let Some(ics) = &content.calendar {
            let ct = ContentType::parse("text/calendar; charset=utf-8; method=PUBLISH")
                .unwrap_or(ContentType::TEXT_PLAIN);
            let name = format!("{}.ics", env.case_id.unwrap_or("otklik"));
            mixed = mixed.singlepart(MimeAttachment::new(name).body(ics.clone(), ct));
        }
        for a in rest {
            mixed = mixed.singlepart(attachment_part(a));
        }
        builder.multipart(mixed)?
    };
    let raw = local_date(message.formatted(), config, env.now);
    Ok(OutMail {
        seq: env.nonce,
        case: (env.case != 0).then_some(env.case),
        message_id,
        envelope_from: config.smtp.from.email.clone(),
        to: vec![env.to.to_string()],
        raw,
        attempts: 0,
        next_attempt: env.now,
        last_error: None,
        created: env.now,
    })
}

enum Body {
    Single(SinglePart),
    Multi(MultiPart),
}

/// The photos the HTML shows, with their Content-IDs: found in one pass (a search of the
/// whole HTML for each photo grew with their product), at most
/// [`templates::MAX_INLINE_IMAGES`] of them. None for mail about no case.
fn inline_images<'a>(
    content: &'a Rendered,
    case_id: Option<&str>,
) -> Vec<(String, &'a Attachment)> {
    let (Some(html), Some(case_id)) = (&content.html, case_id) else {
        return Vec::new();
    };
    let shown = cids_in(html);
    content
        .attachments
        .iter()
        .enumerate()
        .filter(|(_, a)| templates::is_inline_image(a))
        .map(|(i, a)| (templates::image_cid(case_id, i), a))
        .filter(|(cid, _)| shown.contains(cid.as_str()))
        .take(templates::MAX_INLINE_IMAGES)
        .collect()
}

/// The `Date:` header in the calendar's time zone (`Tue, 1 Dec 2026 10:15:00 +0700`):
/// officials read it as their own time. The builder writes UTC; the line is replaced.
fn local_date(raw: Vec<u8>, config: &Config, now: DateTime<Utc>) -> Vec<u8> {
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len());
    let start = if raw.starts_with(b"Date: ") {
        Some(0)
    } else {
        raw[..head_end]
            .windows(8)
            .position(|w| w == b"\r\nDate: ")
            .map(|p| p + 2)
    };
    let Some(start) = start else {
        return raw;
    };
    let Some(len) = raw[start..].windows(2).position(|w| w == b"\r\n") else {
        return raw;
    };
    let local = now.with_timezone(&config.calendar.timezone()).to_rfc2822();
    let mut out = Vec::with_capacity(raw.len() + 8);
    out.extend_from_slice(&raw[..start]);
    out.extend_from_slice(format!("Date: {local}").as_bytes());
    out.extend_from_slice(&raw[start + len..]);
    out
}

/// Every `cid:` reference of `html` (up to the quote, apostrophe, space or `>` that ends
/// it), in one pass.
fn cids_in(html: &str) -> std::collections::HashSet<&str> {
    let mut out = std::collections::HashSet::new();
    let mut rest = html;
    while let Some(at) = rest.find("cid:") {
        let tail = &rest[at + 4..];
        let end = tail
            .find(|c: char| c == '"' || c == '\'' || c == '>' || c.is_whitespace())
            .unwrap_or(tail.len());
        out.insert(&tail[..end]);
        rest = &tail[end..];
    }
    out
}

/// A photo shown in the HTML part: inline, with its Content-ID and file name.
fn inline_part(cid: &str, a: &Attachment) -> SinglePart {
    let ct = ContentType::parse(&a.content_type).unwrap_or_else(|_| {
        ContentType::parse("application/octet-stream").unwrap_or(ContentType::TEXT_PLAIN)
    });
    MimeAttachment::new_inline_with_name(cid.to_string(), a.filename.clone())
        .body(a.data.clone(), ct)
}

fn attachment_part(a: &Attachment) -> SinglePart {
    let ct = ContentType::parse(&a.content_type).unwrap_or_else(|_| {
        ContentType::parse("application/octet-stream").unwrap_or(ContentType::TEXT_PLAIN)
    });
    MimeAttachment::new(a.filename.clone()).body(a.data.clone(), ct)
}

/// How many mails [`case_mails`] builds for `notices` (one per recipient): the caller
/// reserves that many message numbers before composing.
pub fn mails_needed(notices: &[Notice]) -> usize {
    notices.iter().map(|n| n.to.len()).sum()
}

/// Renders and builds every notice about a case, one message per recipient, in order;
/// `nonces` are the message numbers reserved for them ([`mails_needed`] of them), used
/// in the same order.
pub fn case_mails(
    config: &Config,
    secret: &Secret,
    case: &Case,
    notices: &[Notice],
    now: DateTime<Utc>,
    nonces: &[u64],
) -> Result<Vec<OutMail>, ComposeError> {
    let needed = mails_needed(notices);
    if nonces.len() < needed {
        return Err(ComposeError::Numbers {
            needed,
            given: nonces.len(),
        });
    }
    let service_addr = config.smtp.from.email.clone();
    let recipients = notices
        .iter()
        .flat_map(|notice| notice.to.iter().map(move |to| (notice, to)));
    let mut out = Vec::with_capacity(needed);
    for ((notice, to), &nonce) in recipients.zip(nonces) {
        let round = mail_round(config, case, notice, to);
        let code = secret.round_code(case.number, to, round);
        let view = View {
            config,
            case,
            now,
            recipient: to,
            code: &code,
            service_addr: &service_addr,
        };
        let mut rendered = templates::render(&view, notice);
        rendered.calendar = calendar_for(config, case, notice, to, now);
        let env = Envelope {
            config,
            secret,
            case: case.number,
            case_id: Some(&case.id),
            to,
            nonce,
            now,
        };
        let mut mail = build_in_round(&env, &rendered, round)?;
        if notice.kind == NoticeKind::CaseOpened {
            crate::gather::mark(&mut mail.raw);
        }
        out.push(mail);
    }
    Ok(out)
}

/// The approval round a mail about a case carries (docs/keywords.md#approval-rounds): the
/// case's current round in the coordinator's mail, so that her reply shows which draft she
/// saw; for a refusal, the round the notice names. Others' mail has none (0).
pub fn mail_round(config: &Config, case: &Case, notice: &Notice, to: &str) -> u64 {
    // The coordinator's deputy gets her requests while she is away, with their rounds.
    if to != config.people.coordinator.email && config.coordinator_deputy().as_deref() != Some(to) {
        return 0;
    }
    match &notice.kind {
        NoticeKind::Refused { round, .. } => *round,
        _ => case.approval_round,
    }
}

/// The executor's mails that give a case, a rework or a new deadline carry the case's
/// deadlines; those that end their part carry the cancellations.
fn calendar_for(
    config: &Config,
    case: &Case,
    notice: &Notice,
    to: &str,
    now: DateTime<Utc>,
) -> Option<String> {
    let executor = case
        .executor
        .as_deref()
        .and_then(|id| config.executor(id))
        .map(|e| e.email.as_str());
    let domain = domain(config);
    match &notice.kind {
        NoticeKind::NewCase { .. } | NoticeKind::Returned { .. } | NoticeKind::Approved
            if executor == Some(to) =>
        {
            crate::ics::calendar(config, case, now, &domain, false)
        }
        NoticeKind::Withdrawn { .. } => crate::ics::calendar(config, case, now, &domain, true),
        NoticeKind::Confirmation { .. } if executor == Some(to) => {
            crate::ics::calendar(config, case, now, &domain, false)
        }
        _ => None,
    }
}
