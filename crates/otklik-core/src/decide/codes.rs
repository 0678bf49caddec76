//! Action codes and proofs in a reply: the codes a reply carries, what is left of its text
//! without them, and the refusals already sent for it.

use chrono::{DateTime, Utc};

use crate::auth::{self, Secret};
use crate::inbound::Inbound;
use crate::reply::ParsedReply;
use crate::triage::MAX_IDS_TRIED;
use crate::workflow::{self, Case, HistoryEvent, Outcome};

/// `text` without the action codes of `codes`, with or without `#` (or its URL-encoded
/// `%23`); the lines they stood alone on go too.
pub(super) fn without_codes(text: &str, codes: &[String]) -> String {
    if codes.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let mut kept = String::with_capacity(line.len());
        let mut last = 0;
        for (i, word) in words(line) {
            // `#code`, `code`, or `%23code` as a quoted `mailto:` link writes it (`%` is no
            // word character, so the word is `23code`).
            let (start, bare) = match word.strip_prefix("23") {
                Some(rest) if i > last && line.as_bytes()[i - 1] == b'%' => (i - 1, rest),
                _ => (i, word.strip_prefix('#').unwrap_or(word)),
            };
            if codes.iter().any(|c| c.eq_ignore_ascii_case(bare)) {
                kept.push_str(&line[last..start]);
                last = i + word.len();
            }
        }
        kept.push_str(&line[last..]);
        if kept.trim().is_empty() && !line.trim().is_empty() {
            continue;
        }
        out.push_str(&kept);
    }
    out.trim_end().to_string()
}

/// What a reply proves: that it answers our mail to its sender, and in which approval round.
pub(super) struct Proof {
    /// The newest approval round among the Message-IDs and action codes of ours the reply
    /// carries for its sender (0: one without a round); `None`: no proof at all.
    pub(super) answered: Option<u64>,
    /// The bare (typed without `#`) words of the reply that are its sender's codes.
    pub(super) bare: Vec<String>,
}

impl Proof {
    pub(super) fn of(
        mail: &Inbound,
        parsed: &ParsedReply,
        case: &Case,
        sender: &str,
        secret: &Secret,
        domain: &str,
    ) -> Proof {
        // The sender's own codes for this case, of the rounds still tried. Typed with `#`,
        // or bare where a bare one counts (a line of its own, or a word of the subject). At
        // most a few candidates of each kind are tried, so no list of guesses can pass.
        let known = secret.round_codes(case.number, sender, case.approval_round);
        let mut bare = Vec::new();
        let mut rounds: Vec<u64> = Vec::new();
        for word in bare_codes(&mail.subject, &parsed.text).take(MAX_CODES_TRIED) {
            if let Some(r) = auth::code_round(word, &known) {
                rounds.push(r);
                bare.push(word.to_ascii_lowercase());
            }
        }
        rounds.extend(
            parsed
                .codes
                .iter()
                .take(MAX_CODES_TRIED)
                .filter_map(|c| auth::code_round(c, &known)),
        );
        rounds.extend(
            mail.in_reply_to
                .iter()
                .chain(mail.references.iter())
                .take(MAX_IDS_TRIED)
                .filter_map(|id| secret.verified_round(id, case.number, sender, domain)),
        );
        Proof {
            answered: rounds.into_iter().max(),
            bare,
        }
    }
}

/// The question sent back when the subject and the text name different keywords.
pub(super) fn conflict_question(subject: &str, body: &str) -> String {
    format!(
        "your subject says {subject} but your text starts with {body}, so nothing was done. \
         Which did you mean? Reply with one of them: as the first word of your text, \
         and the subject without the other"
    )
}

/// Refusal mails carry approval round `round` (see [`workflow::NoticeKind::Refused`]).
pub(super) fn set_refusal_round(outcome: &mut Outcome, round: u64) {
    for n in &mut outcome.notices {
        if let workflow::NoticeKind::Refused { round: r, .. } = &mut n.kind {
            *r = round;
        }
    }
}

/// How many `#` codes and Message-IDs of a message are tried as proof.
pub(super) const MAX_CODES_TRIED: usize = 8;

/// Refusals of one sender on one case kept in its history; past that, only the ledger.
pub(super) const REFUSALS_IN_HISTORY: usize = 3;

/// The refusals one sender already had on a case.
pub(super) struct Refusals {
    pub(super) total: usize,
    /// One within the last 24 hours (explained then; not again today).
    pub(super) today: bool,
}

impl Refusals {
    pub(super) fn of(case: &Case, sender: &str, now: DateTime<Utc>) -> Refusals {
        let mut r = Refusals {
            total: 0,
            today: false,
        };
        for h in case
            .history
            .iter()
            .filter(|h| h.event == HistoryEvent::RejectedReply && h.by == sender)
        {
            r.total += 1;
            r.today |= now - h.at < chrono::Duration::hours(24);
        }
        r
    }
}

/// The words of a line with their byte offsets: runs of letters, digits and `#`.
pub(super) fn words(line: &str) -> impl Iterator<Item = (usize, &str)> {
    line.split(|c: char| !(c.is_alphanumeric() || c == '#'))
        .filter(|w| !w.is_empty())
        .map(move |w| (w.as_ptr() as usize - line.as_ptr() as usize, w))
}

/// Could this word be an action code (8 characters of the codes' alphabet)?
pub(super) fn code_shaped(w: &str) -> bool {
    w.len() == 8
        && w.bytes()
            .all(|b| matches!(b.to_ascii_lowercase(), b'a'..=b'z' | b'2'..=b'9'))
}

/// Bare action codes as people type them: the words of the subject, and lines of the text
/// that hold one word only.
pub(super) fn bare_codes<'a>(subject: &'a str, text: &'a str) -> impl Iterator<Item = &'a str> {
    let from_subject = words(subject).map(|(_, w)| w);
    let from_lines = text.lines().filter_map(|l| {
        let mut ws = words(l).map(|(_, w)| w);
        match (ws.next(), ws.next()) {
            (Some(w), None) => Some(w),
            _ => None,
        }
    });
    from_subject.chain(from_lines).filter(|w| code_shaped(w))
}
