//! The loop signals: whether a message was sent by a machine (the parent module's
//! documentation lists them in order of precedence).

use mail_parser::{Message, MimeHeaders};

use super::{Automatic, unfold};
use crate::address::Address;

/// The raw (unparsed) value of the first root header of that name, trimmed and unfolded.
fn raw_header(msg: &Message<'_>, name: &str) -> Option<String> {
    let h = msg
        .parts
        .first()?
        .headers
        .iter()
        .find(|h| h.name.as_str().eq_ignore_ascii_case(name))?;
    let bytes = msg
        .raw_message
        .get(h.offset_start as usize..h.offset_end as usize)?;
    Some(unfold(&String::from_utf8_lossy(bytes)))
}

fn has_header(msg: &Message<'_>, name: &str) -> bool {
    msg.parts.first().is_some_and(|p| {
        p.headers
            .iter()
            .any(|h| h.name.as_str().eq_ignore_ascii_case(name))
    })
}

/// Subjects of bounces, in the languages Russian mail servers use.
const BOUNCE_SUBJECTS: &[&str] = &[
    "undeliver",
    "undelivered",
    "delivery status notification",
    "delivery failure",
    "delivery has failed",
    "mail delivery failed",
    "failure notice",
    "returned mail",
    "returned to sender",
    "delivery notification",
    "non-delivery",
    "nondeliverable",
    "mail system error",
    "не доставлено",
    "недоставлен",
    "не удалось доставить",
    "ошибка доставки",
    "уведомление о доставке",
    "возврат письма",
];

/// Subjects of out-of-office and other automatic replies.
const AUTOREPLY_SUBJECTS: &[&str] = &[
    "automatic reply",
    "auto-reply",
    "autoreply",
    "auto reply",
    "out of office",
    "out of the office",
    "away from",
    "автоответ",
    "автоматический ответ",
    "отсутствие на рабочем месте",
    "нет на рабочем месте",
    "вне офиса",
    "в отпуске",
    "отсутствую",
];

/// Does this subject (or its start) read like an automatic reply's ("Автоответ: …",
/// "Out of office")?
pub fn autoreply_subject(subject: &str) -> bool {
    let lower = subject.to_lowercase();
    AUTOREPLY_SUBJECTS.iter().any(|s| lower.contains(s))
}

pub(super) fn automatic(
    msg: &Message<'_>,
    from: Option<&Address>,
    subject: &str,
) -> Option<Automatic> {
    if let Some(v) = raw_header(msg, "Auto-Submitted") {
        let token = v
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_lowercase();
        // `auto-replied` answers something (RFC 3834): a vacation notice, never a
        // notification, whoever sends it. Robots that notify say `auto-generated`.
        if token == "auto-replied" {
            return Some(Automatic::AutoReply);
        }
        if !token.is_empty() && token != "no" {
            return Some(Automatic::AutoSubmitted(v));
        }
    }
    if let Some(v) = raw_header(msg, "Precedence") {
        let lower = v.to_lowercase();
        if matches!(lower.as_str(), "bulk" | "junk" | "list") {
            return Some(Automatic::Precedence(lower));
        }
    }

    let subject_lc = subject.to_lowercase();
    let is_report = msg
        .parts
        .first()
        .and_then(|p| p.content_type())
        .is_some_and(|ct| {
            ct.c_type.eq_ignore_ascii_case("multipart")
                && ct
                    .c_subtype
                    .as_deref()
                    .is_some_and(|s| s.eq_ignore_ascii_case("report"))
                && ct
                    .attribute("report-type")
                    .is_some_and(|r| r.eq_ignore_ascii_case("delivery-status"))
        });
    let null_return_path = raw_header(msg, "Return-Path").is_some_and(|v| {
        let v: String = v.chars().filter(|c| !c.is_whitespace()).collect();
        v == "<>"
    });
    let daemon_sender = from.is_some_and(|a| {
        let local = a.email.split('@').next().unwrap_or_default();
        local == "mailer-daemon" || local == "postmaster"
    });
    let bounce_subject = BOUNCE_SUBJECTS.iter().any(|s| subject_lc.contains(s));
    if is_report || null_return_path || (daemon_sender && bounce_subject) {
        return Some(Automatic::Bounce);
    }

    if has_header(msg, "List-Id") || has_header(msg, "List-Unsubscribe") {
        return Some(Automatic::MailingList);
    }

    for name in [
        "X-Autoreply",
        "X-Autorespond",
        "X-Autoreply-From",
        "X-Mail-Autoreply",
    ] {
        if let Some(v) = raw_header(msg, name) {
            let v = v.to_lowercase();
            if v != "no" && v != "false" {
                return Some(Automatic::AutoReply);
            }
        }
    }
    if let Some(v) = raw_header(msg, "X-Auto-Response-Suppress") {
        let suppress_all_or_oof = v
            .split(',')
            .map(|t| t.trim().to_lowercase())
            .any(|t| t == "all" || t == "oof");
        if suppress_all_or_oof && AUTOREPLY_SUBJECTS.iter().any(|s| subject_lc.contains(s)) {
            return Some(Automatic::AutoReply);
        }
    }
    None
}
