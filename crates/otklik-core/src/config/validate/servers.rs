//! The `[imap]` and `[smtp]` sections.

use toml::Spanned;

use super::ctx::Ctx;
use super::service::parse_size;
use crate::address::parse_address;
use crate::config::raw::{RawImap, RawSmtp, Str};
use crate::config::{ImapConfig, SmtpConfig, TlsMode};

pub(super) fn mailbox(
    cx: &mut Ctx<'_>,
    v: &Option<Str>,
    key: &str,
    default: &str,
) -> Option<String> {
    match v {
        Some(v) => cx.nonempty(v, key),
        None => Some(default.to_string()),
    }
}

pub(super) fn imap(cx: &mut Ctx<'_>, s: &Spanned<RawImap>) -> Option<ImapConfig> {
    let table = s.span();
    let r = s.get_ref();
    let (host, tls, port) = cx.server("imap", &table, &r.host, &r.tls, &r.port, |m| match m {
        TlsMode::Implicit => 993,
        _ => 143,
    });
    let username = cx
        .require(&r.username, &table, "imap.username")
        .and_then(|u| cx.nonempty(u, "imap.username"));
    let password = match (&r.password_file, &r.password_env) {
        (Some(f), None) => cx.secret_file(f, "imap.password_file"),
        (None, Some(e)) => cx.secret_env(e, "imap.password_env"),
        (Some(_), Some(e)) => {
            cx.at(
                e.span(),
                "imap.password_env",
                "give either password_file or password_env, not both",
            );
            None
        }
        (None, None)
            if cx.was_dropped("imap.password_file") || cx.was_dropped("imap.password_env") =>
        {
            None
        }
        (None, None) => {
            cx.at(
                table.clone(),
                "imap.password_file",
                "missing password: give password_file or password_env",
            );
            None
        }
    };
    let mailbox_ = mailbox(cx, &r.mailbox, "imap.mailbox", "INBOX");
    let processed = mailbox(
        cx,
        &r.processed_mailbox,
        "imap.processed_mailbox",
        "otklik/processed",
    );
    let rejected = mailbox(
        cx,
        &r.rejected_mailbox,
        "imap.rejected_mailbox",
        "otklik/rejected",
    );
    let poll_seconds = match &r.poll_seconds {
        None => Some(60),
        Some(p) if *p.get_ref() > 0 => u64::try_from(*p.get_ref()).ok(),
        Some(p) => {
            cx.at(
                p.span(),
                "imap.poll_seconds",
                format!("must be at least 1, not {}", p.get_ref()),
            );
            None
        }
    };
    let max_message_size = match &r.max_message_size {
        None => Some(crate::config::DEFAULT_MAX_MESSAGE_SIZE),
        Some(m) => match parse_size(m.get_ref()) {
            Some(n) if n > 0 => Some(n),
            _ => {
                cx.at(
                    m.span(),
                    "imap.max_message_size",
                    "expected a size above zero, such as \"25MB\", \"500KB\" or a number of bytes",
                );
                None
            }
        },
    };
    let ca_file = cx.ca_file(&r.ca_file, "imap.ca_file");
    Some(ImapConfig {
        ca_file: ca_file?,
        host: host?,
        port: port?,
        tls: tls?,
        username: username?,
        password: password?,
        mailbox: mailbox_?,
        processed_mailbox: processed?,
        rejected_mailbox: rejected?,
        poll_seconds: poll_seconds?,
        max_message_size: max_message_size?,
    })
}

pub(super) fn smtp(cx: &mut Ctx<'_>, s: &Spanned<RawSmtp>) -> Option<SmtpConfig> {
    let table = s.span();
    let r = s.get_ref();
    let (host, tls, port) = cx.server("smtp", &table, &r.host, &r.tls, &r.port, |m| match m {
        TlsMode::Implicit => 465,
        TlsMode::Starttls => 587,
        TlsMode::None => 25,
    });
    let username = match &r.username {
        Some(u) => cx.nonempty(u, "smtp.username").map(Some),
        None => Some(None),
    };
    let password = match (&r.password_file, &r.password_env) {
        (Some(f), None) => cx.secret_file(f, "smtp.password_file").map(Some),
        (None, Some(e)) => cx.secret_env(e, "smtp.password_env").map(Some),
        (Some(_), Some(e)) => {
            cx.at(
                e.span(),
                "smtp.password_env",
                "give either password_file or password_env, not both",
            );
            None
        }
        (None, None) => Some(None),
    };
    let has_password = r.password_file.is_some() || r.password_env.is_some();
    match (&r.username, has_password) {
        (Some(u), false) => cx.at(
            u.span(),
            "smtp.username",
            "a username needs password_file or password_env (omit all three for a relay \
             without SMTP AUTH)",
        ),
        (None, true) => {
            let span = r
                .password_file
                .as_ref()
                .or(r.password_env.as_ref())
                .map(|v| v.span())
                .unwrap_or(table.clone());
            cx.at(span, "smtp.username", "a password needs a username");
        }
        _ => {}
    }
    let from = cx.require(&r.from, &table, "smtp.from").and_then(|f| {
        let a = parse_address(f.get_ref());
        if a.is_none() {
            cx.at(
                f.span(),
                "smtp.from",
                format!(
                    "{:?} is not an address: expected name@domain or Name <name@domain>",
                    f.get_ref()
                ),
            );
        }
        a
    });
    let ok_pair = r.username.is_some() == has_password;
    let ca_file = cx.ca_file(&r.ca_file, "smtp.ca_file");
    let connections = match &r.connections {
        None => Some(crate::config::DEFAULT_SMTP_CONNECTIONS),
        Some(c) => match usize::try_from(*c.get_ref()) {
            Ok(n) if (1..=crate::config::MAX_SMTP_CONNECTIONS).contains(&n) => Some(n),
            _ => {
                cx.at(
                    c.span(),
                    "smtp.connections",
                    format!(
                        "must be from 1 to {}, not {}",
                        crate::config::MAX_SMTP_CONNECTIONS,
                        c.get_ref()
                    ),
                );
                None
            }
        },
    };
    Some(SmtpConfig {
        connections: connections?,
        ca_file: ca_file?,
        host: host?,
        port: port?,
        tls: tls?,
        username: username.filter(|_| ok_pair)?,
        password: password?,
        from: from?,
    })
}
