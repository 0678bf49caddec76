//! A notification an official forwards to the service. The decree has the platform mail
//! each executor at their own address (cl. 4); an official who passes such a mail on to the
//! service opens a case like the original. The forwarded message is found attached
//! (`message/rfc822`: Outlook's and Gmail's "forward as attachment") or inline after a
//! forward header (Gmail, Outlook, Thunderbird, Yandex, Mail.ru; Russian or English). Pure.

use crate::inbound::Inbound;

/// Lines that open an inline forward.
const MARKERS: [&str; 6] = [
    "forwarded message",
    "original message",
    "пересылаемое сообщение",
    "перенаправленное сообщение",
    "исходное сообщение",
    "пересланное сообщение",
];

/// The message inside a forward, if there is one: an attached message first, else an
/// inline forward. Its `From` is the original sender (checked by the caller against
/// `intake.senders`), its `Date` the original's when the forward header gives one in
/// RFC 5322 form.
pub fn forwarded(mail: &Inbound) -> Option<Inbound> {
    for a in &mail.attachments {
        if a.content_type
            .split(';')
            .next()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("message/rfc822"))
            && let Ok(inner) = Inbound::parse(&a.data)
        {
            return Some(inner);
        }
    }
    inline(&mail.text)
}

/// The header key of a forward block, normalised: `from`, `date`, `subject`, or none.
fn key(name: &str) -> Option<&'static str> {
    match name.trim().to_lowercase().as_str() {
        "from" | "от" | "от кого" => Some("from"),
        "date" | "sent" | "дата" | "отправлено" => Some("date"),
        "subject" | "тема" => Some("subject"),
        "to" | "cc" | "кому" | "копия" | "reply-to" => Some("other"),
        _ => None,
    }
}

/// The address in a forward header's `From:` value: `Name <a@b>`, `Name [mailto:a@b]`
/// (Outlook), or a bare address.
fn address(value: &str) -> Option<String> {
    let inner = if let Some(start) = value.find('<') {
        value[start + 1..].split('>').next()
    } else if let Some(start) = value.find("mailto:") {
        value[start + 7..].split(']').next()
    } else {
        value.split_whitespace().find(|w| w.contains('@'))
    }?;
    let a = inner
        .trim()
        .trim_matches(|c: char| "<>[]()\"',;".contains(c));
    a.contains('@').then(|| a.to_lowercase())
}

fn inline(text: &str) -> Option<Inbound> {
    let lines: Vec<&str> = text.lines().collect();
    // Where the forward header starts: after a marker line, or at an Outlook-style block
    // (`From:` followed by a `Sent:`/`Date:` line within a few lines).
    let start = lines.iter().enumerate().find_map(|(i, l)| {
        let low = l.to_lowercase();
        if MARKERS.iter().any(|m| low.contains(m)) {
            return Some(i + 1);
        }
        let is_from = l.split_once(':').and_then(|(k, _)| key(k)) == Some("from");
        let dated = lines
            .iter()
            .skip(i + 1)
            .take(4)
            .any(|n| n.split_once(':').and_then(|(k, _)| key(k)) == Some("date"));
        (is_from && dated).then_some(i)
    })?;
    let mut from = None;
    let mut date = None;
    let mut subject = String::new();
    let mut body_at = None;
    for (i, l) in lines.iter().enumerate().skip(start) {
        let l = l.trim_start_matches('>').trim();
        if l.is_empty() {
            if from.is_some() {
                body_at = Some(i + 1);
                break;
            }
            continue;
        }
        match l.split_once(':').map(|(k, v)| (key(k), v.trim())) {
            Some((Some("from"), v)) => from = address(v),
            Some((Some("date"), v)) => date = Some(v.to_string()),
            Some((Some("subject"), v)) => subject = v.to_string(),
            Some((Some(_), _)) => {}
            _ if from.is_some() => {
                body_at = Some(i);
                break;
            }
            _ => return None,
        }
    }
    let from = from?;
    let body: Vec<&str> = lines[body_at.unwrap_or(lines.len())..]
        .iter()
        .map(|l| {
            l.strip_prefix("> ")
                .or_else(|| l.strip_prefix('>'))
                .unwrap_or(l)
        })
        .collect();
    let clean = |s: &str| s.replace(['\r', '\n'], " ");
    let mut raw = format!(
        "From: <{}>\r\nSubject: {}\r\n",
        clean(&from),
        clean(&subject)
    );
    if let Some(d) = &date {
        raw.push_str(&format!("Date: {}\r\n", clean(d)));
    }
    raw.push_str(
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
    );
    raw.push_str(&body.join("\r\n"));
    raw.push_str("\r\n");
    Inbound::parse(raw.as_bytes()).ok()
}
