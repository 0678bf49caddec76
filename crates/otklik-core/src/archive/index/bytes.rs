//! The index as bytes, inside the archive's snapshot (see [`crate::archive::Archive::to_bytes`]):
//! each stem with its counts and postings as they are in memory (already compact), each
//! entry's length and distinct terms. The word memo is not kept: it fills again as
//! entries are added, and a query stems what it does not find there.

use std::collections::HashMap;

use super::frozen::{Frozen, Refused};
use super::{Doc, Index, Term, put_varint};
use crate::archive::snapshot::{Reader, SnapshotError};

impl Index {
    /// Appends the index to `out`.
    pub(in crate::archive) fn write_bytes(&self, out: &mut Vec<u8>) {
        put_varint(out, self.term.len() as u64);
        for (t, (stem, term)) in self.stems().iter().zip(&self.term).enumerate() {
            put_varint(out, stem.len() as u64);
            out.extend_from_slice(stem.as_bytes());
            put_varint(out, u64::from(term.df));
            put_varint(out, u64::from(term.last));
            // The frozen postings and those added since are one run of gaps.
            let (frozen, since) = self.postings_of(t as u32);
            put_varint(out, (frozen.len() + since.len()) as u64);
            out.extend_from_slice(frozen);
            out.extend_from_slice(since);
        }
        put_varint(out, self.docs.len() as u64);
        for (i, doc) in self.docs.iter().enumerate() {
            let end = self
                .docs
                .get(i + 1)
                .map_or(self.doc_terms.len(), |d| d.terms_at);
            put_varint(out, end.saturating_sub(doc.terms_at) as u64);
            put_varint(out, u64::from(doc.len));
            out.push(u8::from(doc.live));
        }
        put_varint(out, self.doc_terms.len() as u64);
        out.extend_from_slice(&self.doc_terms);
    }

    /// Reads an index written by [`Index::write_bytes`] of `slots` entries. Counts that
    /// cannot be (more entries of a stem than entries, two terms of one stem, term lists
    /// past their bytes) are refused.
    pub(in crate::archive) fn read_bytes(
        r: &mut Reader<'_>,
        slots: usize,
    ) -> Result<Index, SnapshotError> {
        let count = r.count()?;
        // Stems and postings straight into their arenas: no allocation per stem.
        let mut frozen = Frozen::with_capacity(count);
        let mut term = Vec::with_capacity(count);
        for _ in 0..count {
            let stem = r.str()?;
            let df = r.u32()?;
            if df as usize > slots {
                return Err(SnapshotError::Malformed(
                    "a stem in more entries than there are",
                ));
            }
            let last = r.u32()?;
            let n = r.count()?;
            let postings = r.bytes(n)?;
            frozen.push(stem, postings).map_err(|why| match why {
                Refused::Twice => SnapshotError::Malformed("a stem twice"),
                Refused::TooLarge => SnapshotError::Malformed("too many stems"),
            })?;
            term.push(Term { df, last });
        }
        frozen.shrink_to_fit();
        if r.count()? != slots {
            return Err(SnapshotError::Malformed(
                "entries and ids of different counts",
            ));
        }
        let mut docs = Vec::with_capacity(slots);
        let (mut terms_at, mut live, mut total_len) = (0usize, 0u32, 0u64);
        for _ in 0..slots {
            let n = r.count()?;
            let len = r.u32()?;
            let alive = match r.u8()? {
                0 => false,
                1 => true,
                _ => {
                    return Err(SnapshotError::Malformed(
                        "an entry neither live nor removed",
                    ));
                }
            };
            docs.push(Doc {
                terms_at,
                len,
                live: alive,
            });
            terms_at = terms_at.saturating_add(n);
            if alive {
                live += 1;
                total_len += u64::from(len);
            }
        }
        let n = r.count()?;
        if n != terms_at {
            return Err(SnapshotError::Malformed(
                "term lists of another length than their entries'",
            ));
        }
        let doc_terms = r.bytes(n)?.to_vec();
        Ok(Index {
            memo: HashMap::new(),
            frozen,
            tails: HashMap::new(),
            terms: HashMap::new(),
            fresh: Vec::new(),
            term,
            docs,
            doc_terms,
            live,
            total_len,
        })
    }
}
