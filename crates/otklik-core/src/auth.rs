//! Proof that a reply saw one of our messages (docs/keywords.md). Pure.
//!
//! Every message we send carries a Message-ID of the form
//! `<otk{case}.{nonce}.{mac}@{domain}>`, where `mac` is an HMAC-SHA256 (truncated to 12 hex
//! digits) of case, recipient and nonce under a secret kept in `state_dir`. A reply whose
//! In-Reply-To/References hold such an id, verified for the replying address, proves that
//! this address received a message about this case. The short action code (`#k7m2q9xa`)
//! printed in each message is the same idea for clients that drop References and for
//! `mailto:` links: an HMAC of case and recipient.

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
    /// The truncated HMAC: 12 hex digits, lower-cased.
    pub mac: String,
}

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

    fn id_mac(&self, case: u64, recipient: &str, nonce: u64) -> String {
        let bytes = self.mac(&[
            "id",
            &case.to_string(),
            &recipient.trim().to_lowercase(),
            &nonce.to_string(),
        ]);
        bytes.iter().take(6).map(|b| format!("{b:02x}")).collect()
    }

    /// The Message-ID (without angle brackets) of message `nonce` about `case` to `recipient`.
    pub fn message_id(&self, case: u64, recipient: &str, nonce: u64, domain: &str) -> String {
        format!(
            "otk{case}.{nonce}.{}@{domain}",
            self.id_mac(case, recipient, nonce)
        )
    }

    /// The id every message of a case refers to, so that mail clients keep one thread.
    pub fn thread_id(&self, case: u64, domain: &str) -> String {
        let bytes = self.mac(&["thread", &case.to_string()]);
        let mac: String = bytes.iter().take(6).map(|b| format!("{b:02x}")).collect();
        format!("otk{case}.thread.{mac}@{domain}")
    }

    /// Does `id` (a Message-ID from a reply's References) prove that `sender` got a message
    /// about `case` from us?
    pub fn verifies(&self, id: &str, case: u64, sender: &str, domain: &str) -> bool {
        match parse_our_id(id, domain) {
            Some(our) if our.case == case => constant_time_eq(
                self.id_mac(case, sender, our.nonce).as_bytes(),
                our.mac.as_bytes(),
            ),
            _ => false,
        }
    }

    /// The short action code printed for `recipient` in messages about `case` (without `#`).
    pub fn action_code(&self, case: u64, recipient: &str) -> String {
        let bytes = self.mac(&["code", &case.to_string(), &recipient.trim().to_lowercase()]);
        bytes
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
}

/// Takes apart a Message-ID we issued (`otk42.17.0a1b2c3d4e5f@domain`); `None` for any other.
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
    let mac = parts.next()?;
    if parts.next().is_some() || mac.len() != 12 || !mac.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some(OurId {
        case,
        nonce: nonce.parse().ok()?,
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
}
