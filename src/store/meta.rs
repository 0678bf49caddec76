//! The keys of the store's `meta` tree, typed: each kind of record kept there is one
//! variant, written and read by [`MetaKey::encode`] and [`MetaKey::decode`] only, so that
//! no key is spelled twice. The bytes are those earlier versions wrote (a store of any
//! format opens as it is).

/// One key of the `meta` tree.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MetaKey {
    /// The store's format version, as decimal text.
    FormatVersion,
    /// The number the next new case takes (8 bytes, big-endian).
    NextCase,
    /// How many cases are open (8 bytes, big-endian), kept by every commit.
    OpenCases,
    /// The message being handled ([`super::InProgress`]).
    InProgress,
    /// Set once the outbox keeps its bodies and due index apart.
    OutboxSplit,
    /// The fingerprint of the config the due index was built from.
    DueFingerprint,
    /// The date of the last daily digest.
    LastDigest,
    /// The month of the last monthly report.
    LastMonthly,
    /// This store's identity, random hex chosen once: the archive's snapshot says which
    /// store it was made from.
    StoreId,
    /// A mail the SMTP server accepted, by outbox number: its Message-ID and when.
    Sent(u64),
    /// A mail that could not be delivered, by outbox number: its record.
    Dead(u64),
    /// An absence announced by email, by executor id: until when.
    Absent(String),
    /// A message waiting for its sender's confirmation, by confirmation number.
    Confirm(u64),
    /// When confirmations were asked of a person, by address.
    ConfirmAsked(String),
    /// When the last new-case notice left for a person, by address (RFC 3339).
    NewCasesLast(String),
    /// A new-case notice gathered into a list, by its outbox number: the list's Message-ID.
    Gathered(u64),
}

/// The families of keys that share a prefix, for scans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaPrefix {
    /// [`MetaKey::Sent`].
    Sent,
    /// [`MetaKey::Dead`].
    Dead,
    /// [`MetaKey::Absent`].
    Absent,
    /// [`MetaKey::Confirm`].
    Confirm,
    /// [`MetaKey::ConfirmAsked`].
    ConfirmAsked,
    /// [`MetaKey::NewCasesLast`].
    NewCasesLast,
    /// [`MetaKey::Gathered`].
    Gathered,
}

impl MetaPrefix {
    /// The bytes every key of the family starts with.
    pub fn bytes(self) -> &'static [u8] {
        match self {
            MetaPrefix::Sent => b"sent:",
            MetaPrefix::Dead => b"dead:",
            MetaPrefix::Absent => b"absent:",
            MetaPrefix::Confirm => b"confirm:",
            MetaPrefix::ConfirmAsked => b"confirm-asked:",
            MetaPrefix::NewCasesLast => b"new-cases-last:",
            MetaPrefix::Gathered => b"gathered:",
        }
    }
}

/// The names of the single keys.
const SINGLES: [(&str, MetaKey); 9] = [
    ("format_version", MetaKey::FormatVersion),
    ("next_case", MetaKey::NextCase),
    ("open_cases", MetaKey::OpenCases),
    ("in_progress", MetaKey::InProgress),
    ("outbox_split", MetaKey::OutboxSplit),
    ("due_fingerprint", MetaKey::DueFingerprint),
    (otklik_core::digest::LAST_DIGEST_KEY, MetaKey::LastDigest),
    (otklik_core::monthly::LAST_MONTHLY_KEY, MetaKey::LastMonthly),
    ("store_id", MetaKey::StoreId),
];

impl MetaKey {
    /// The key as stored.
    pub fn encode(&self) -> Vec<u8> {
        let numbered = |p: MetaPrefix, n: u64| {
            let mut k = p.bytes().to_vec();
            k.extend_from_slice(format!("{n:020}").as_bytes());
            k
        };
        let named = |p: MetaPrefix, s: &str| [p.bytes(), s.as_bytes()].concat();
        match self {
            MetaKey::Sent(n) => numbered(MetaPrefix::Sent, *n),
            MetaKey::Dead(n) => numbered(MetaPrefix::Dead, *n),
            MetaKey::Confirm(n) => numbered(MetaPrefix::Confirm, *n),
            MetaKey::Absent(id) => named(MetaPrefix::Absent, id),
            MetaKey::ConfirmAsked(a) => named(MetaPrefix::ConfirmAsked, a),
            MetaKey::NewCasesLast(a) => named(MetaPrefix::NewCasesLast, a),
            MetaKey::Gathered(n) => numbered(MetaPrefix::Gathered, *n),
            single => SINGLES
                .iter()
                .find(|(_, k)| k == single)
                .map(|(name, _)| name.as_bytes().to_vec())
                .unwrap_or_default(),
        }
    }

    /// The key a stored key is, or None for bytes no version wrote (or a number that is
    /// not one).
    pub fn decode(key: &[u8]) -> Option<MetaKey> {
        if let Some((_, k)) = SINGLES.iter().find(|(name, _)| name.as_bytes() == key) {
            return Some(k.clone());
        }
        let tail = |p: MetaPrefix| key.strip_prefix(p.bytes());
        let number = |t: &[u8]| -> Option<u64> {
            (!t.is_empty() && t.iter().all(u8::is_ascii_digit))
                .then(|| std::str::from_utf8(t).ok()?.parse().ok())
                .flatten()
        };
        let text = |t: &[u8]| std::str::from_utf8(t).ok().map(str::to_string);
        if let Some(t) = tail(MetaPrefix::Sent) {
            return number(t).map(MetaKey::Sent);
        }
        if let Some(t) = tail(MetaPrefix::Dead) {
            return number(t).map(MetaKey::Dead);
        }
        if let Some(t) = tail(MetaPrefix::Confirm) {
            return number(t).map(MetaKey::Confirm);
        }
        if let Some(t) = tail(MetaPrefix::ConfirmAsked) {
            return text(t).map(MetaKey::ConfirmAsked);
        }
        if let Some(t) = tail(MetaPrefix::Absent) {
            return text(t).map(MetaKey::Absent);
        }
        if let Some(t) = tail(MetaPrefix::NewCasesLast) {
            return text(t).map(MetaKey::NewCasesLast);
        }
        if let Some(t) = tail(MetaPrefix::Gathered) {
            return number(t).map(MetaKey::Gathered);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_the_bytes_earlier_versions_wrote_and_read_back() {
        let cases = [
            (MetaKey::FormatVersion, "format_version"),
            (MetaKey::NextCase, "next_case"),
            (MetaKey::OpenCases, "open_cases"),
            (MetaKey::InProgress, "in_progress"),
            (MetaKey::OutboxSplit, "outbox_split"),
            (MetaKey::DueFingerprint, "due_fingerprint"),
            (MetaKey::LastDigest, "digest_last_date"),
            (MetaKey::LastMonthly, "monthly_report_last"),
            (MetaKey::StoreId, "store_id"),
            (MetaKey::Sent(7), "sent:00000000000000000007"),
            (MetaKey::Dead(12), "dead:00000000000000000012"),
            (MetaKey::Confirm(3), "confirm:00000000000000000003"),
            (MetaKey::Absent("housing".into()), "absent:housing"),
            (
                MetaKey::NewCasesLast("coord@example.ru".into()),
                "new-cases-last:coord@example.ru",
            ),
            (MetaKey::Gathered(7), "gathered:00000000000000000007"),
            (
                MetaKey::ConfirmAsked("a@b.ru".into()),
                "confirm-asked:a@b.ru",
            ),
        ];
        for (key, bytes) in cases {
            assert_eq!(String::from_utf8(key.encode()).unwrap(), bytes);
            assert_eq!(MetaKey::decode(bytes.as_bytes()), Some(key));
        }
    }

    #[test]
    fn bytes_no_version_wrote_are_no_key() {
        for junk in [
            &b""[..],
            b"sent:",
            b"sent:x1",
            b"dead:-1",
            b"confirm:",
            b"confirm:12a",
            b"other",
            b"absent:\xff",
        ] {
            assert_eq!(MetaKey::decode(junk), None, "{junk:?}");
        }
    }
}
