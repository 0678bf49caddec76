//! The archive as bytes: what the shell saves beside its store so that start-up reloads
//! the index instead of reading every entry and building it again.
//!
//! Layout: [`MAGIC`], the [`FORMAT`] (u32, little-endian), the caller's tag (a varint
//! length and its bytes: the shell says there which store and which of its changes the
//! snapshot covers), a probe of the fingerprint hash, the ids and fingerprints by slot,
//! the index ([`Index`]), then a CRC-32 of everything before it. Numbers are varints
//! (seven bits a byte, low first) unless said otherwise. Bytes that are not such a snapshot, of
//! another format or damaged are refused with a [`SnapshotError`], never a panic.
use super::index::{get_varint, put_varint};
use super::{Archive, Ids, Index, fingerprint_probe};

/// The first bytes of a snapshot.
pub(super) const MAGIC: &[u8; 8] = b"OTKARCH\x01";

/// The layout written; a snapshot of another is refused (and the shell rebuilds).
pub const FORMAT: u32 = 1;

/// Why bytes are not an archive this build can use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// Too short to be a snapshot at all.
    #[error("too short to be an archive snapshot ({0} bytes)")]
    TooShort(usize),
    /// It does not start with the snapshot magic (`OTKARCH` and a byte 1).
    #[error("not an archive snapshot")]
    NotASnapshot,
    /// Its checksum does not match its bytes: damaged.
    #[error("the checksum does not match: the snapshot is damaged")]
    Checksum,
    /// Written in another layout.
    #[error("a snapshot of format {found}, this build reads {FORMAT}")]
    Format {
        /// The format it says it has.
        found: u32,
    },
    /// Written by a build whose entry fingerprints differ from this one's.
    #[error("written by a build that fingerprints entries otherwise")]
    OtherBuild,
    /// The checksum matches but the contents do not hold together.
    #[error("malformed snapshot: {0}")]
    Malformed(&'static str),
}

/// Reads the pieces of a snapshot, each read checked against the bytes left.
pub(super) struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    /// A varint.
    pub(super) fn varint(&mut self) -> Result<u64, SnapshotError> {
        get_varint(self.bytes, &mut self.at).ok_or(SnapshotError::Malformed("cut short"))
    }

    /// A varint that fits a `u32`.
    pub(super) fn u32(&mut self) -> Result<u32, SnapshotError> {
        u32::try_from(self.varint()?).map_err(|_| SnapshotError::Malformed("a number too large"))
    }

    /// A count of things at least a byte each: no more than the bytes left.
    pub(super) fn count(&mut self) -> Result<usize, SnapshotError> {
        let n = usize::try_from(self.varint()?).unwrap_or(usize::MAX);
        if n > self.bytes.len().saturating_sub(self.at) {
            return Err(SnapshotError::Malformed("a count past the end"));
        }
        Ok(n)
    }

    /// One byte.
    pub(super) fn u8(&mut self) -> Result<u8, SnapshotError> {
        Ok(self.bytes(1)?.first().copied().unwrap_or(0))
    }

    /// `n` bytes.
    pub(super) fn bytes(&mut self, n: usize) -> Result<&'a [u8], SnapshotError> {
        let end = self.at.checked_add(n);
        let s = end
            .and_then(|end| self.bytes.get(self.at..end))
            .ok_or(SnapshotError::Malformed("cut short"))?;
        self.at += n;
        Ok(s)
    }

    /// A string: its length and its UTF-8 bytes.
    pub(super) fn str(&mut self) -> Result<&'a str, SnapshotError> {
        let n = self.count()?;
        std::str::from_utf8(self.bytes(n)?).map_err(|_| SnapshotError::Malformed("not UTF-8"))
    }

    /// A little-endian `u64`.
    fn u64_le(&mut self) -> Result<u64, SnapshotError> {
        let b: [u8; 8] = self
            .bytes(8)?
            .try_into()
            .map_err(|_| SnapshotError::Malformed("cut short"))?;
        Ok(u64::from_le_bytes(b))
    }
}

impl Archive {
    /// The archive as bytes, with `tag` (the caller's, returned as is by
    /// [`Archive::from_bytes`]) and a checksum.
    pub fn to_bytes(&self, tag: &[u8]) -> Vec<u8> {
        let ids = &self.ids;
        let mut out = Vec::with_capacity(ids.arena.len() + 16 * self.prints.len() + 1024);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT.to_le_bytes());
        put_varint(&mut out, tag.len() as u64);
        out.extend_from_slice(tag);
        out.extend_from_slice(&fingerprint_probe().to_le_bytes());
        put_varint(&mut out, ids.ends.len() as u64);
        put_varint(&mut out, ids.arena.len() as u64);
        out.extend_from_slice(ids.arena.as_bytes());
        let mut start = 0;
        for &end in &ids.ends {
            put_varint(&mut out, u64::from(end.saturating_sub(start)));
            start = end;
        }
        for p in &self.prints {
            out.extend_from_slice(&p.to_le_bytes());
        }
        self.index.write_bytes(&mut out);
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Reads an archive written by [`Archive::to_bytes`], with its tag; damaged bytes,
    /// another format or another build's are refused.
    pub fn from_bytes(bytes: &[u8]) -> Result<(Archive, &[u8]), SnapshotError> {
        let head = MAGIC.len() + 4;
        if bytes.len() < head + 4 {
            return Err(SnapshotError::TooShort(bytes.len()));
        }
        if !bytes.starts_with(MAGIC) {
            return Err(SnapshotError::NotASnapshot);
        }
        let (body, crc) = bytes.split_at(bytes.len() - 4);
        let crc: [u8; 4] = crc.try_into().map_err(|_| SnapshotError::Checksum)?;
        if crc32fast::hash(body) != u32::from_le_bytes(crc) {
            return Err(SnapshotError::Checksum);
        }
        let mut r = Reader {
            bytes: body,
            at: MAGIC.len(),
        };
        let found = u32::from_le_bytes(
            r.bytes(4)?
                .try_into()
                .map_err(|_| SnapshotError::Malformed("cut short"))?,
        );
        if found != FORMAT {
            return Err(SnapshotError::Format { found });
        }
        let n = r.count()?;
        let tag = r.bytes(n)?;
        if r.u64_le()? != fingerprint_probe() {
            return Err(SnapshotError::OtherBuild);
        }
        let slots = r.count()?;
        let arena = r.str()?;
        let mut ends = Vec::with_capacity(slots);
        let mut end = 0usize;
        for _ in 0..slots {
            end = end.saturating_add(r.count()?);
            if !arena.is_char_boundary(end) {
                return Err(SnapshotError::Malformed("an id past its arena"));
            }
            let end = u32::try_from(end).map_err(|_| SnapshotError::Malformed("ids too long"))?;
            ends.push(end);
        }
        let mut prints = Vec::with_capacity(slots);
        for _ in 0..slots {
            prints.push(r.u64_le()?);
        }
        let index = Index::read_bytes(&mut r, slots)?;
        if r.at != body.len() {
            return Err(SnapshotError::Malformed("bytes after the index"));
        }
        let mut a = Archive {
            ids: Ids::from_parts(arena.to_string(), ends),
            prints,
            index,
        };
        a.ids.shrink_to_fit();
        // The live slot of each id, hashed with this archive's keys.
        for slot in 0..slots as u32 {
            if a.index.is_live(slot) {
                a.ids.link(slot);
            }
        }
        Ok((a, tag))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::{Entry, Query};
    use super::*;

    const WORDS: &[&str] = &[
        "труба",
        "трубы",
        "вода",
        "течёт",
        "яма",
        "дороги",
        "школа",
        "свет",
        "нет",
        "на",
        "Ленина",
        "Берёзовке",
        "газ",
        "мост",
        "42",
    ];

    fn text() -> impl Strategy<Value = String> {
        proptest::collection::vec(0..WORDS.len(), 0..10).prop_map(|ix| {
            ix.into_iter()
                .map(|i| WORDS[i])
                .collect::<Vec<_>>()
                .join(" ")
        })
    }

    fn entry(id: usize, topic: String, text: String) -> Entry {
        Entry {
            id: format!("OTK-{id}"),
            topic,
            location: String::new(),
            text,
            answer: format!("ответ {id}"),
            date: None,
            executor: None,
        }
    }

    /// What an archive answers: its size and its hits for each query.
    fn answers(a: &Archive, queries: &[String]) -> (usize, Vec<Vec<(String, u64)>>) {
        let hits = queries
            .iter()
            .map(|q| {
                let q = Query {
                    text: q.clone(),
                    ..Query::default()
                };
                a.similar(&q, 5)
                    .into_iter()
                    .map(|h| (h.id, h.score.to_bits()))
                    .collect()
            })
            .collect();
        (a.len(), hits)
    }

    /// (id, topic, text, remove instead): added, replaced (same id) or removed.
    fn ops() -> impl Strategy<Value = Vec<(usize, String, String, bool)>> {
        proptest::collection::vec(
            (0usize..12, text(), text(), proptest::bool::weighted(0.2)),
            0..40,
        )
    }

    fn apply(a: &mut Archive, ops: &[(usize, String, String, bool)]) {
        for (id, topic, text, remove) in ops {
            if *remove {
                a.remove(&format!("OTK-{id}"));
            } else {
                a.add(entry(*id, topic.clone(), text.clone()));
            }
        }
    }

    proptest! {
        /// Read back, an archive answers as it did, writes the same bytes, and goes on
        /// answering as the original when both are changed alike.
        #[test]
        fn an_archive_read_back_answers_as_it_did(
            before in ops(),
            after in ops(),
            queries in proptest::collection::vec(text(), 1..6),
            tag in proptest::collection::vec(any::<u8>(), 0..20),
        ) {
            let mut a = Archive::new();
            apply(&mut a, &before);
            let bytes = a.to_bytes(&tag);
            let (mut b, got_tag) = Archive::from_bytes(&bytes).unwrap();
            prop_assert_eq!(got_tag, tag.as_slice());
            prop_assert_eq!(answers(&a, &queries), answers(&b, &queries));
            prop_assert_eq!(b.to_bytes(&tag), bytes);
            apply(&mut a, &after);
            apply(&mut b, &after);
            prop_assert_eq!(answers(&a, &queries), answers(&b, &queries));
            for (id, ..) in &after {
                let id = format!("OTK-{id}");
                prop_assert_eq!(a.get(&id).is_some(), b.get(&id).is_some());
            }
        }

        /// A damaged snapshot (a byte changed, or cut short) is refused, never a panic.
        #[test]
        fn a_damaged_snapshot_is_refused(
            ops in ops(),
            at in any::<prop::sample::Index>(),
            xor in 1u8..=255,
            cut in any::<prop::sample::Index>(),
        ) {
            let mut a = Archive::new();
            apply(&mut a, &ops);
            let bytes = a.to_bytes(b"tag");
            let mut flipped = bytes.clone();
            flipped[at.index(bytes.len())] ^= xor;
            prop_assert!(Archive::from_bytes(&flipped).is_err());
            prop_assert!(Archive::from_bytes(&bytes[..cut.index(bytes.len())]).is_err());
        }
    }

    /// Bytes whose checksum holds but whose contents do not (a bug, or a hand-made file)
    /// are refused too: every prefix of a body, re-checksummed.
    #[test]
    fn a_well_checksummed_but_malformed_snapshot_is_refused() {
        let mut a = Archive::new();
        a.add(entry(1, "ЖКХ".into(), "нет воды".into()));
        a.add(entry(2, "Дороги".into(), "яма на дороге".into()));
        a.remove("OTK-1");
        let bytes = a.to_bytes(b"");
        let body = &bytes[..bytes.len() - 4];
        for end in 12..body.len() {
            let mut cut = body[..end].to_vec();
            cut.extend_from_slice(&crc32fast::hash(&cut).to_le_bytes());
            assert!(Archive::from_bytes(&cut).is_err(), "{end}");
        }
        let mut other = body.to_vec();
        other[8] = 9;
        other.extend_from_slice(&crc32fast::hash(&other).to_le_bytes());
        assert_eq!(
            Archive::from_bytes(&other).err(),
            Some(SnapshotError::Format { found: 9 })
        );
        assert_eq!(
            Archive::from_bytes(b"not a snapshot at all").err(),
            Some(SnapshotError::NotASnapshot)
        );
    }
}
