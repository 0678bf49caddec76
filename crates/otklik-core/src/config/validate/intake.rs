//! The `[intake]` section: senders, fields and labels of notifications.

use std::ops::Range;

use chrono_tz::Tz;
use toml::Spanned;

use super::ctx::{Ctx, push_key};
use crate::config::Field;
use crate::config::raw::RawIntake;
use crate::config::{IntakeConfig, Labels, Lexicon, Pattern, WorkDuration};

pub(super) fn intake(
    cx: &mut Ctx<'_>,
    s: &Spanned<RawIntake>,
    zone: Option<Tz>,
) -> Option<IntakeConfig> {
    let table = s.span();
    let r = s.get_ref();
    let senders = senders(cx, r, table);
    let lexicon = lexicon(cx, r);
    let repeat_window = repeat_window(cx, r)?;
    let source_timezone = match &r.source_timezone {
        Some(v) => cx.timezone(v, "intake.source_timezone"),
        None => zone,
    };
    let labels = labels(cx, r);
    let trusted_authserv_id = trusted_authserv_id(cx, r)?;
    let link_hosts = link_hosts(cx, r)?;
    Some(IntakeConfig {
        trusted_authserv_id,
        link_hosts,
        senders: senders?,
        lexicon: lexicon?,
        repeat_window: repeat_window?,
        source_timezone: source_timezone?,
        labels: labels?,
    })
}

/// `intake.senders`: required and not empty.
fn senders(cx: &mut Ctx<'_>, r: &RawIntake, table: Range<usize>) -> Option<Vec<Pattern>> {
    match &r.senders {
        None if cx.was_dropped("intake.senders") => None,
        None => {
            cx.at(
                table,
                "intake.senders",
                "missing required key: list who may open cases, such as [\"*@monitoring.example\"]",
            );
            None
        }
        Some(list) if list.get_ref().is_empty() => {
            cx.at(
                list.span(),
                "intake.senders",
                "empty: nobody could open cases; list the monitoring system's addresses",
            );
            None
        }
        Some(_) => Some(cx.patterns(&r.senders, "intake.senders", true)),
    }
}

/// `intake.exclude_words_file`: read and parsed as the clause 12 word list.
fn lexicon(cx: &mut Ctx<'_>, r: &RawIntake) -> Option<Lexicon> {
    match &r.exclude_words_file {
        None => Some(Lexicon::default()),
        Some(v) => {
            let p = cx.resolve(v.get_ref().trim());
            match cx.read_text(&p) {
                Ok(text) => match Lexicon::clause12(&text) {
                    Ok(l) => Some(l),
                    Err(e) => {
                        cx.at(
                            v.span(),
                            "intake.exclude_words_file",
                            format!("{}:{}: {}", p.display(), e.line, e.message),
                        );
                        None
                    }
                },
                Err(e) => {
                    cx.at(
                        v.span(),
                        "intake.exclude_words_file",
                        format!("cannot read {}: {e}", p.display()),
                    );
                    None
                }
            }
        }
    }
}

/// `intake.repeat_window` in calendar days. `None` stops the section's checks at once
/// (an unreadable duration); `Some(None)` is a problem reported, checks going on.
fn repeat_window(cx: &mut Ctx<'_>, r: &RawIntake) -> Option<Option<chrono::Duration>> {
    match &r.repeat_window {
        None => Some(Some(chrono::Duration::days(30))),
        Some(v) => match cx.duration(v, "intake.repeat_window")? {
            WorkDuration::Days(n) => Some(Some(chrono::Duration::days(i64::from(n)))),
            WorkDuration::Seconds(_) => {
                cx.at(
                    v.span(),
                    "intake.repeat_window",
                    "must be calendar days, such as 30d",
                );
                Some(None)
            }
        },
    }
}

/// `[intake.labels]`: extra labels of known fields, none empty.
fn labels(cx: &mut Ctx<'_>, r: &RawIntake) -> Option<Labels> {
    let mut labels = Labels::builtin();
    let mut labels_ok = true;
    for (key, list) in r.labels.iter().flatten() {
        let mut k = "intake.labels".to_string();
        push_key(&mut k, key.get_ref());
        let Some(field) = Field::from_key(key.get_ref().trim()) else {
            cx.at(
                key.span(),
                &k,
                format!(
                    "{:?} is not a field: expected source_id, topic, location, category, source, \
                     link, author, detected_at, text or repeat",
                    key.get_ref()
                ),
            );
            labels_ok = false;
            continue;
        };
        for (j, label) in list.get_ref().iter().enumerate() {
            let l = label.get_ref().trim();
            if l.is_empty() {
                cx.at(label.span(), &format!("{k}[{j}]"), "empty label");
                labels_ok = false;
            } else {
                labels.add(field, l);
            }
        }
    }
    labels_ok.then_some(labels)
}

/// `intake.trusted_authserv_id`: one word. `None` stops the section's checks.
fn trusted_authserv_id(cx: &mut Ctx<'_>, r: &RawIntake) -> Option<Option<String>> {
    match &r.trusted_authserv_id {
        None => Some(None),
        Some(v) => {
            let id = v.get_ref().trim();
            if id.is_empty() || id.contains(|c: char| c.is_whitespace() || "();\"".contains(c)) {
                cx.at(
                    v.span(),
                    "intake.trusted_authserv_id",
                    "must be the one word the receiving mail server writes first in its \
                     Authentication-Results header, such as \"mx.example.ru\"",
                );
                return None;
            }
            Some(Some(id.to_string()))
        }
    }
}

/// `intake.link_hosts`: bare host names, lower case. `None` stops the section's checks.
fn link_hosts(cx: &mut Ctx<'_>, r: &RawIntake) -> Option<Vec<String>> {
    match &r.link_hosts {
        None => Some(
            crate::config::DEFAULT_LINK_HOSTS
                .iter()
                .map(|h| h.to_string())
                .collect(),
        ),
        Some(list) => {
            let mut hosts = Vec::new();
            for (j, h) in list.get_ref().iter().enumerate() {
                let host = h
                    .get_ref()
                    .trim()
                    .trim_end_matches('.')
                    .to_ascii_lowercase();
                if host.is_empty()
                    || !host
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
                {
                    cx.at(
                        h.span(),
                        &format!("intake.link_hosts[{j}]"),
                        "must be a host name such as \"vk.com\" (no scheme, path or port)",
                    );
                    return None;
                }
                hosts.push(host);
            }
            Some(hosts)
        }
    }
}
