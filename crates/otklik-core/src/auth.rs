//! Proof that a reply saw one of our messages (docs/keywords.md). Pure.
//!
//! Every message we send carries a Message-ID of the form
//! `<otk{case}.{nonce}.{mac}@{domain}>`, where `mac` is an HMAC-SHA256 (truncated to 12 hex
//! digits) of case, recipient and nonce under a secret kept in `state_dir`. A reply whose
//! In-Reply-To/References hold such an id, verified for the replying address, proves that
//! this address received a message about this case. The short action code (`#k7m2q9xa`)
//! printed in each message is the same idea for clients that drop References and for
//! `mailto:` links: an HMAC of case and recipient.
//!
//! The coordinator's mail about a case also binds the case's **approval round** (one per
//! draft sent for approval, docs/keywords.md#approval-rounds): her Message-IDs read
//! `<otk{case}.{nonce}.r{round}.{mac}@{domain}>` and her code is an HMAC of case, recipient
//! and round, so that a reply shows which draft she saw. Round 0 is the form without a
//! round (mail before any draft, and everything written by earlier versions).

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The action-code alphabet: lower-case letters and digits without 0/1 (and no `l`/`o`
/// confusion in print since codes are read, not typed, mostly).
const CODE_ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";

/// The service secret (32 random bytes, generated on first start into `state_dir`).
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("auth::Secret(***)")
    }
}

/// A Message-ID of ours, taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OurId {
    /// The number of the case the message was about (42 in `[OTK-42]`).
    pub case: u64,
    /// The number that makes each message's id unique, signed with the case and recipient.
    pub nonce: u64,
    /// The approval round the message was sent in (0: none, the form without `r…`).
    pub round: u64,
    /// The truncated HMAC: 12 hex digits, lower-cased.
    pub mac: String,
}

/// How many earlier approval rounds' codes still prove who a sender is (for actions other
/// than approving or returning a draft): the current round, the `ROUNDS_TRIED - 1` before
/// it, and round 0. Bounds the work one reply can cause.
pub const ROUNDS_TRIED: u64 = 16;

impl Secret {
    /// Wraps the key bytes read from `state_dir` (any length is accepted).
    pub fn new(bytes: Vec<u8>) -> Secret {
        Secret(bytes)
    }

    fn mac(&self, parts: &[&str]) -> Vec<u8> {
        // An HMAC key of any length is accepted, so this cannot fail.
        let mut mac = match HmacSha256::new_from_slice(&self.0) {
            Ok(m) => m,
            Err(_) => unreachable!("HMAC accepts keys of any length"),
        };
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                mac.update(b"\x1f");
            }
            mac.update(p.as_bytes());
        }
        mac.finalize().into_bytes().to_vec()
    }

    fn id_mac(&self, case: u64, recipient: &str, nonce: u64, round: u64) -> String {
        let case = case.to_string();
        let recipient = recipient.trim().to_lowercase();
        let nonce = nonce.to_string();
        let round = format!("r{round}");
        let mut parts = vec!["id", &case, &recipient, &nonce];
        if round != "r0" {
            parts.push(&round);
        }
        let bytes = self.mac(&parts);
        hex::encode(&bytes[..bytes.len().min(6)])
    }

    /// The Message-ID (without angle brackets) of message `nonce` about `case` to `recipient`.
    pub fn message_id(&self, case: u64, recipient: &str, nonce: u64, domain: &str) -> String {
        self.message_id_in_round(case, recipient, nonce, 0, domain)
    }

    /// The Message-ID of message `nonce` about `case` to `recipient`, sent in approval round
    /// `round` (0: the form without a round).
    pub fn message_id_in_round(
        &self,
        case: u64,
        recipient: &str,
        nonce: u64,
        round: u64,
        domain: &str,
    ) -> String {
        let mac = self.id_mac(case, recipient, nonce, round);
        if round == 0 {
            format!("otk{case}.{nonce}.{mac}@{domain}")
        } else {
            format!("otk{case}.{nonce}.r{round}.{mac}@{domain}")
        }
    }

    /// The id every message of a case refers to, so that mail clients keep one thread.
    pub fn thread_id(&self, case: u64, domain: &str) -> String {
        let bytes = self.mac(&["thread", &case.to_string()]);
        let mac = hex::encode(&bytes[..bytes.len().min(6)]);
        format!("otk{case}.thread.{mac}@{domain}")
    }

    /// Does `id` (a Message-ID from a reply's References) prove that `sender` got a message
    /// about `case` from us?
    pub fn verifies(&self, id: &str, case: u64, sender: &str, domain: &str) -> bool {
        self.verified_round(id, case, sender, domain).is_some()
    }

    /// The approval round of `id` when it proves that `sender` got a message about `case`
    /// from us (0 for an id without a round); `None` when it proves nothing.
    pub fn verified_round(&self, id: &str, case: u64, sender: &str, domain: &str) -> Option<u64> {
        let our = parse_our_id(id, domain)?;
        (our.case == case
            && constant_time_eq(
                self.id_mac(case, sender, our.nonce, our.round).as_bytes(),
                our.mac.as_bytes(),
            ))
        .then_some(our.round)
    }

    /// The short action code printed for `recipient` in messages about `case` (without `#`).
    pub fn action_code(&self, case: u64, recipient: &str) -> String {
        self.round_code(case, recipient, 0)
    }

    /// The action code printed for `recipient` in messages about `case` sent in approval
    /// round `round`; round 0 is [`Secret::action_code`].
    pub fn round_code(&self, case: u64, recipient: &str, round: u64) -> String {
        let case = case.to_string();
        let recipient = recipient.trim().to_lowercase();
        let round = round.to_string();
        let mut parts = vec!["code", &case, &recipient];
        if round != "0" {
            parts.extend(["round", &round]);
        }
        self.mac(&parts)
            .iter()
            .take(8)
            .map(|b| CODE_ALPHABET[(*b as usize) % 32] as char)
            .collect()
    }

    /// The code of confirmation `nonce` sent to `recipient` about the message whose SHA-256
    /// is `digest` (docs/keywords.md#confirmations): bound to the recipient and to that
    /// message, so that it confirms nothing else and for nobody else.
    pub fn confirm_code(&self, nonce: u64, recipient: &str, digest: &str) -> String {
        let bytes = self.mac(&[
            "confirm",
            &nonce.to_string(),
            &recipient.trim().to_ascii_lowercase(),
            digest,
        ]);
        bytes
            .iter()
            .take(8)
            .map(|b| CODE_ALPHABET[(*b as usize) % 32] as char)
            .collect()
    }

    /// Is `code` the code of confirmation `nonce` to `sender` about the message `digest`?
    pub fn confirm_matches(&self, code: &str, nonce: u64, sender: &str, digest: &str) -> bool {
        constant_time_eq(
            self.confirm_code(nonce, sender, digest).as_bytes(),
            code.trim().to_ascii_lowercase().as_bytes(),
        )
    }

    /// Is `code` (lower-case, without `#`) the action code of `sender` for `case`?
    pub fn code_matches(&self, code: &str, case: u64, sender: &str) -> bool {
        constant_time_eq(
            self.action_code(case, sender).as_bytes(),
            code.trim().to_lowercase().as_bytes(),
        )
    }

    /// The codes of `sender` for `case` that still prove who they are when the case is in
    /// approval round `current`: that round's, the [`ROUNDS_TRIED`]` - 1` before it, and
    /// round 0's; each with its round, newest first.
    pub fn round_codes(&self, case: u64, sender: &str, current: u64) -> Vec<(u64, String)> {
        let oldest = current.saturating_sub(ROUNDS_TRIED - 1).max(1);
        let mut out: Vec<(u64, String)> = (oldest..=current)
            .rev()
            .map(|r| (r, self.round_code(case, sender, r)))
            .collect();
        out.push((0, self.action_code(case, sender)));
        out
    }
}

/// The round of the first of `codes` (lower-case or not, without `#`) that `code` is.
pub fn code_round(code: &str, codes: &[(u64, String)]) -> Option<u64> {
    let code = code.trim().to_lowercase();
    codes
        .iter()
        .find(|(_, c)| constant_time_eq(c.as_bytes(), code.as_bytes()))
        .map(|(r, _)| *r)
}

/// Takes apart a Message-ID we issued (`otk42.17.0a1b2c3d4e5f@domain`, or with its round
/// `otk42.17.r3.0a1b2c3d4e5f@domain`); `None` for any other.
pub fn parse_our_id(id: &str, domain: &str) -> Option<OurId> {
    let id = id.trim().trim_start_matches('<').trim_end_matches('>');
    let (local, host) = id.rsplit_once('@')?;
    if !host.eq_ignore_ascii_case(domain) {
        return None;
    }
    let rest = local.strip_prefix("otk")?;
    let mut parts = rest.split('.');
    let case = parts.next()?.parse().ok()?;
    let nonce = parts.next()?;
    let mut mac = parts.next()?;
    let mut round = 0;
    if let Some(r) = mac.strip_prefix('r') {
        // Digits without a leading zero (`r0` is never written): an id has one spelling.
        if r.starts_with('0') || !r.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        round = r.parse().ok()?;
        mac = parts.next()?;
    }
    if parts.next().is_some() || mac.len() != 12 || !mac.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some(OurId {
        case,
        nonce: nonce.parse().ok()?,
        round,
        mac: mac.to_ascii_lowercase(),
    })
}

/// The case a Message-ID of ours (a message or the thread id) is about.
pub fn case_of_id(id: &str, domain: &str) -> Option<u64> {
    let id = id.trim().trim_start_matches('<').trim_end_matches('>');
    let (local, host) = id.rsplit_once('@')?;
    if !host.eq_ignore_ascii_case(domain) {
        return None;
    }
    local.strip_prefix("otk")?.split('.').next()?.parse().ok()
}

/// Is this Message-ID one that we issued (a message of ours coming back)?
pub fn is_ours(id: &str, domain: &str) -> bool {
    parse_our_id(id, domain).is_some()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> Secret {
        Secret::new(b"0123456789abcdef0123456789abcdef".to_vec())
    }

    #[test]
    fn message_id_verifies_only_for_its_recipient_and_case() {
        let s = secret();
        let id = s.message_id(42, "Coord@Example.ru", 7, "example.ru");
        assert!(s.verifies(&id, 42, "coord@example.ru", "example.ru"));
        assert!(s.verifies(&format!("<{id}>"), 42, "coord@example.ru", "example.ru"));
        assert!(!s.verifies(&id, 42, "stranger@example.ru", "example.ru"));
        assert!(!s.verifies(&id, 43, "coord@example.ru", "example.ru"));
        assert!(!s.verifies(&id, 42, "coord@example.ru", "other.ru"));
        let forged = id.replacen("otk42.7.", "otk42.8.", 1);
        assert!(!s.verifies(&forged, 42, "coord@example.ru", "example.ru"));
        assert!(!Secret::new(b"other".to_vec()).verifies(
            &id,
            42,
            "coord@example.ru",
            "example.ru"
        ));
    }

    #[test]
    fn ids_are_recognised_as_ours() {
        let s = secret();
        let id = s.message_id(5, "a@b.c", 1, "example.ru");
        assert!(is_ours(&id, "example.ru"));
        assert_eq!(case_of_id(&id, "example.ru"), Some(5));
        assert_eq!(
            case_of_id(&s.thread_id(5, "example.ru"), "example.ru"),
            Some(5)
        );
        assert!(!is_ours("CAF=abc@mail.gmail.com", "example.ru"));
        assert!(!is_ours("otk5.1.zzzzzzzzzzzz@example.ru", "example.ru"));
    }

    #[test]
    fn confirmation_codes_are_bound_to_nonce_recipient_and_message() {
        let s = secret();
        let code = s.confirm_code(7, "Boss@example.ru", "aa");
        assert_eq!(code.len(), 8);
        assert!(s.confirm_matches(&code, 7, "boss@example.ru", "aa"));
        assert!(s.confirm_matches(&code.to_uppercase(), 7, "boss@example.ru", "aa"));
        assert!(!s.confirm_matches(&code, 8, "boss@example.ru", "aa"));
        assert!(!s.confirm_matches(&code, 7, "other@example.ru", "aa"));
        assert!(!s.confirm_matches(&code, 7, "boss@example.ru", "ab"));
        // Not an action code of any case either.
        assert_ne!(code, s.action_code(7, "boss@example.ru"));
    }

    #[test]
    fn action_codes_are_per_case_and_recipient() {
        let s = secret();
        let code = s.action_code(42, "exec@example.ru");
        assert_eq!(code.len(), 8);
        assert!(code.bytes().all(|b| CODE_ALPHABET.contains(&b)));
        assert!(s.code_matches(&code, 42, "EXEC@example.ru"));
        assert!(s.code_matches(&code.to_uppercase(), 42, "exec@example.ru"));
        assert!(!s.code_matches(&code, 42, "coord@example.ru"));
        assert!(!s.code_matches(&code, 41, "exec@example.ru"));
    }

    #[test]
    fn rounds_are_bound_into_ids_and_codes() {
        let s = secret();
        assert_eq!(
            s.message_id_in_round(42, "c@example.ru", 7, 0, "example.ru"),
            s.message_id(42, "c@example.ru", 7, "example.ru")
        );
        let id = s.message_id_in_round(42, "c@example.ru", 7, 3, "example.ru");
        assert!(id.starts_with("otk42.7.r3."), "{id}");
        assert_eq!(
            s.verified_round(&id, 42, "c@example.ru", "example.ru"),
            Some(3)
        );
        assert_eq!(case_of_id(&id, "example.ru"), Some(42));
        assert!(is_ours(&id, "example.ru"));
        // The round is signed: another round with the same mac is a forgery.
        for forged in [
            id.replacen(".r3.", ".r2.", 1),
            id.replacen(".r3.", ".", 1),
            id.replacen(".r3.", ".r03.", 1),
        ] {
            assert_eq!(
                s.verified_round(&forged, 42, "c@example.ru", "example.ru"),
                None,
                "{forged}"
            );
        }
        let legacy = s.message_id(42, "c@example.ru", 7, "example.ru");
        assert_eq!(
            s.verified_round(&legacy, 42, "c@example.ru", "example.ru"),
            Some(0)
        );
        // Codes: round 0 is the plain code; each round its own.
        assert_eq!(
            s.round_code(42, "c@example.ru", 0),
            s.action_code(42, "c@example.ru")
        );
        let r1 = s.round_code(42, "c@example.ru", 1);
        let r2 = s.round_code(42, "c@example.ru", 2);
        assert_ne!(r1, r2);
        assert_ne!(r1, s.action_code(42, "c@example.ru"));
        let codes = s.round_codes(42, "c@example.ru", 2);
        assert_eq!(code_round(&r2.to_uppercase(), &codes), Some(2));
        assert_eq!(code_round(&r1, &codes), Some(1));
        assert_eq!(
            code_round(&s.action_code(42, "c@example.ru"), &codes),
            Some(0)
        );
        assert_eq!(
            code_round(&s.round_code(42, "c@example.ru", 3), &codes),
            None
        );
        assert_eq!(
            code_round(&s.round_code(42, "x@example.ru", 2), &codes),
            None
        );
        // Only a bounded number of rounds is tried.
        assert_eq!(
            s.round_codes(42, "c@example.ru", 1000).len() as u64,
            ROUNDS_TRIED + 1
        );
    }
}
