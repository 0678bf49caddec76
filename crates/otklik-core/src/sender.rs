//! Trusting senders (docs/reliability.md#trusting-senders). Anyone can write any `From:`;
//! what the service does on a `From` address alone must not help someone who borrows it.
//! Pure.
//!
//! - An action that carries no proof of its own (no action code, no signed reference: a
//!   self-service request, a forwarded notification) is taken only when the receiving
//!   server vouches for the sender ([`crate::authres`]) or when the person confirms it by
//!   replying to a mail sent to their configured address: a [`Pending`] confirmation whose
//!   code ([`crate::auth::Secret::confirm_code`]) is bound to the recipient and to the
//!   message asking for the action.
//! - A notification's links to hosts other than `intake.link_hosts` are written so that no
//!   mail client makes them links ([`defang`]); a forwarded notification's detection time
//!   that lies in the future or long before it reached us is replaced by its arrival
//!   ([`sanitise`]).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::intake::Notification;

/// How long a confirmation may be answered.
pub const CONFIRM_VALID_DAYS: i64 = 7;

/// The most confirmations asked of one person in 24 hours; further requests without
/// proof are recorded only (a forger must not flood the person through us).
pub const MAX_CONFIRMATIONS_A_DAY: usize = 3;

/// How far a forwarded notification's detection time may lie before its arrival.
pub const MAX_FORWARD_AGE_DAYS: i64 = 7;

/// How far a detection time may lie after the arrival (clocks differ a little).
pub const MAX_CLOCK_SKEW_MINUTES: i64 = 15;

/// An action waiting for its sender's confirmation: what the shell keeps (with the
/// message that asked for it) until the person replies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// The number of the confirmation mail (its Message-ID's and its code's nonce).
    pub nonce: u64,
    /// The configured address the confirmation went to; only a reply from it counts.
    pub sender: String,
    /// When the confirmation was asked for.
    pub asked_at: DateTime<Utc>,
    /// Lower-case hex SHA-256 of the message that asked for the action: the code is bound
    /// to it, so that it confirms that message and nothing else.
    pub digest: String,
    /// The action, in words (for the ledger).
    pub what: String,
    /// Already confirmed (a confirmation works once).
    #[serde(default)]
    pub done: bool,
}

impl Pending {
    /// Can this confirmation still be answered at `now`?
    pub fn open(&self, now: DateTime<Utc>) -> bool {
        !self.done && now - self.asked_at <= Duration::days(CONFIRM_VALID_DAYS)
    }
}

/// The subject of a confirmation mail carries `(№ 123, код k7m2q9xa)` (or
/// `(no. 123, code k7m2q9xa)`): a reply that keeps the subject names the confirmation and
/// proves it even when the mail client drops References. Returns (nonce, code).
pub fn confirmation_token(subject: &str) -> Option<(u64, String)> {
    let lower = subject.to_lowercase();
    let at = lower.find("(№").or_else(|| lower.find("(no."))?;
    let rest = &lower[at..];
    let rest = rest.trim_start_matches("(№").trim_start_matches("(no.");
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .take(19)
        .collect();
    let nonce = digits.parse().ok()?;
    let after = rest.trim_start()[digits.len()..].trim_start_matches([',', ' ']);
    let after = after
        .strip_prefix("код")
        .or_else(|| after.strip_prefix("code"))?
        .trim_start_matches([' ', ':', '#']);
    let code: String = after.chars().take(8).collect();
    (code.len() == 8 && code.bytes().all(|b| b.is_ascii_alphanumeric())).then_some((nonce, code))
}

/// The subject words of a confirmation's token, as [`confirmation_token`] reads them.
pub fn token_text(english: bool, nonce: u64, code: &str) -> String {
    if english {
        format!("(no. {nonce}, code {code})")
    } else {
        format!("(№ {nonce}, код {code})")
    }
}

/// Is `host` one of `hosts` or a subdomain of one? ASCII only: an internationalised host
/// name (a look-alike of a real one) never is.
pub fn host_allowed(host: &str, hosts: &[String]) -> bool {
    let host = host.trim_end_matches('.');
    if host.is_empty() || !host.is_ascii() {
        return false;
    }
    let host = host.to_ascii_lowercase();
    hosts.iter().any(|h| {
        host == *h
            || (host.len() > h.len() && host.ends_with(h.as_str()) && {
                let cut = host.len() - h.len() - 1;
                host.as_bytes()[cut] == b'.'
            })
    })
}

/// Where a web address in `text` starting at byte `start` ends: at white space, or a
/// character that ends a URL in prose (`<>"'` and the like).
fn url_end(text: &str, start: usize) -> usize {
    text[start..]
        .char_indices()
        .find(|(_, c)| c.is_whitespace() || "<>\"'«»`|\\^{}".contains(*c))
        .map_or(text.len(), |(i, _)| start + i)
}

/// The host of a web address (`https://user@host:443/path`), `www.host/…` included.
fn url_host(url: &str) -> &str {
    let rest = url.find("://").map_or(url, |i| &url[i + 3..]);
    let authority = rest.split(['/', '?', '#', '\\']).next().unwrap_or_default();
    // `https://vk.com@evil.example/` goes to evil.example.
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = host_port.split(':').next().unwrap_or_default();
    host.trim_end_matches(['.', ',', ';', ')', ']'])
}

/// `text` with every web address (`http://`, `https://`, `www.`) whose host is not in
/// `hosts` written so that no mail client turns it into a link: `hxxps://evil[.]example/x`.
/// Returns the text and whether anything was changed. Linear in the text's length.
pub fn defang(text: &str, hosts: &[String]) -> (String, bool) {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut copied = 0;
    let mut i = 0;
    while i < text.len() {
        let scheme = ["https://", "http://", "www."]
            .into_iter()
            .find(|s| lower[i..].starts_with(s));
        let at_word_start = i == 0
            || !text[..i]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '.' || c == '/');
        let Some(scheme) = scheme.filter(|_| at_word_start) else {
            i += text[i..].chars().next().map_or(1, char::len_utf8);
            continue;
        };
        let end = url_end(text, i);
        let url = &text[i..end];
        if !host_allowed(url_host(url), hosts) {
            out.push_str(&text[copied..i]);
            let (head, tail) = if scheme == "www." {
                ("", url)
            } else {
                let cut = scheme.len();
                (&url[..cut], &url[cut..])
            };
            out.push_str(&head.replacen("ttp", "xxp", 1).replacen("TTP", "XXP", 1));
            let host_end = tail.find(['/', '?', '#', '\\']).unwrap_or(tail.len());
            out.push_str(&tail[..host_end].replace('.', "[.]").replace('@', "[@]"));
            out.push_str(&tail[host_end..]);
            copied = end;
            changed = true;
        }
        i = end.max(i + 1);
    }
    out.push_str(&text[copied..]);
    (out, changed)
}

/// Makes a notification safe to pass on: off-platform links in any of its fields are no
/// links ([`defang`]); for a forwarded one (`forwarded_at` = when the forward reached us),
/// a detection time in the future or more than [`MAX_FORWARD_AGE_DAYS`] before that is
/// replaced by it. Returns notes for the case history.
pub fn sanitise(
    n: &mut Notification,
    hosts: &[String],
    forwarded_at: Option<DateTime<Utc>>,
) -> Vec<String> {
    let mut notes = Vec::new();
    let mut any = false;
    for field in [
        &mut n.source_id,
        &mut n.topic,
        &mut n.location,
        &mut n.category,
        &mut n.source,
        &mut n.link,
        &mut n.author,
    ]
    .into_iter()
    .flatten()
    {
        let (clean, changed) = defang(field, hosts);
        if changed {
            *field = clean;
            any = true;
        }
    }
    let (clean, changed) = defang(&n.text, hosts);
    if changed {
        n.text = clean;
        any = true;
    }
    if any {
        notes.push("links to hosts outside intake.link_hosts are shown as text".to_string());
    }
    if let Some(arrival) = forwarded_at {
        let future = n.detected_at > arrival + Duration::minutes(MAX_CLOCK_SKEW_MINUTES);
        let old = n.detected_at < arrival - Duration::days(MAX_FORWARD_AGE_DAYS);
        if future || old {
            notes.push(format!(
                "the forwarded detection time {} lies {}; the forward's arrival {} is used",
                n.detected_at.format("%Y-%m-%d %H:%M UTC"),
                if future {
                    "in the future".to_string()
                } else {
                    format!("more than {MAX_FORWARD_AGE_DAYS} days before it arrived")
                },
                arrival.format("%Y-%m-%d %H:%M UTC"),
            ));
            n.detected_at = arrival;
        }
    }
    n.warnings.extend(notes.iter().cloned());
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn hosts() -> Vec<String> {
        crate::config::DEFAULT_LINK_HOSTS
            .iter()
            .map(|h| h.to_string())
            .collect()
    }

    #[test]
    fn platform_hosts_and_their_subdomains_are_allowed_look_alikes_are_not() {
        let h = hosts();
        assert!(host_allowed("vk.com", &h));
        assert!(host_allowed("m.vk.com", &h));
        assert!(host_allowed("VK.COM", &h));
        assert!(host_allowed("t.me.", &h));
        assert!(!host_allowed("evilvk.com", &h));
        assert!(!host_allowed("vk.com.evil.example", &h));
        assert!(!host_allowed("vк.com", &h)); // a Cyrillic к
        assert!(!host_allowed("", &h));
    }

    #[test]
    fn off_platform_links_become_text_platform_links_stay() {
        let h = hosts();
        let (t, changed) = defang(
            "Пост: https://vk.com/wall-1_2 и https://evil.example/login?x=1.",
            &h,
        );
        assert!(changed);
        assert_eq!(
            t,
            "Пост: https://vk.com/wall-1_2 и hxxps://evil[.]example/login?x=1."
        );
        let (t, _) = defang("HTTP://Evil.Example/a www.evil.example/b", &h);
        assert_eq!(t, "HXXP://Evil[.]Example/a www[.]evil[.]example/b");
        // The user-info trick: the host is what follows the `@`.
        let (t, changed) = defang("https://vk.com@evil.example/x", &h);
        assert!(changed);
        assert!(!t.contains("https://"), "{t}");
        let (t, changed) = defang("https://ok.ru/group/1 без подвоха", &h);
        assert!(!changed);
        assert_eq!(t, "https://ok.ru/group/1 без подвоха");
        // A scheme inside a word is no link start.
        assert!(!defang("xhttps://evil.example", &h).1);
        // Linear on hostile input.
        let long = "https://".repeat(100_000);
        assert!(defang(&long, &h).0.len() >= long.len());
    }

    fn notification(detected: DateTime<Utc>) -> Notification {
        Notification {
            source_id: None,
            topic: Some("ЖКХ".into()),
            location: None,
            category: None,
            source: None,
            link: Some("https://evil.example/phish".into()),
            author: None,
            detected_at: detected,
            text: "Перейдите: https://evil.example/phish".into(),
            repeat: false,
            attachments: Vec::new(),
            warnings: Vec::new(),
        }
    }

    #[test]
    fn a_forwarded_detection_time_far_from_arrival_is_replaced() {
        let arrival = Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap();
        let far = Utc.with_ymd_and_hms(2099, 1, 1, 0, 0, 0).unwrap();
        let mut n = notification(far);
        let notes = sanitise(&mut n, &hosts(), Some(arrival));
        assert_eq!(n.detected_at, arrival);
        assert_eq!(n.link.as_deref(), Some("hxxps://evil[.]example/phish"));
        assert!(!n.text.contains("https://evil"));
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[1].contains("in the future"));
        let mut old = notification(arrival - Duration::days(8));
        sanitise(&mut old, &hosts(), Some(arrival));
        assert_eq!(old.detected_at, arrival);
        // Within the window it stays; from the platform itself it is not touched.
        let recent = arrival - Duration::days(2);
        let mut fine = notification(recent);
        sanitise(&mut fine, &hosts(), Some(arrival));
        assert_eq!(fine.detected_at, recent);
        let mut direct = notification(far);
        sanitise(&mut direct, &hosts(), None);
        assert_eq!(direct.detected_at, far);
    }

    #[test]
    fn the_confirmation_token_is_read_back_from_a_reply_subject() {
        let s = format!(
            "Re: Подтвердите: НА МЕСТЕ {}",
            token_text(false, 123, "k7m2q9xa")
        );
        assert_eq!(confirmation_token(&s), Some((123, "k7m2q9xa".to_string())));
        let s = format!(
            "AW: Please confirm: BACK {}",
            token_text(true, 9, "K7M2Q9XA")
        );
        assert_eq!(confirmation_token(&s), Some((9, "k7m2q9xa".to_string())));
        assert_eq!(confirmation_token("Re: (№ 12)"), None);
        assert_eq!(confirmation_token("Re: (№ x, код k7m2q9xa)"), None);
    }

    #[test]
    fn a_confirmation_is_open_once_for_a_week() {
        let at = Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap();
        let mut p = Pending {
            nonce: 1,
            sender: "a@b.ru".into(),
            asked_at: at,
            digest: "00".into(),
            what: "НА МЕСТЕ".into(),
            done: false,
        };
        assert!(p.open(at + Duration::days(CONFIRM_VALID_DAYS)));
        assert!(!p.open(at + Duration::days(CONFIRM_VALID_DAYS) + Duration::seconds(1)));
        p.done = true;
        assert!(!p.open(at));
    }
}
