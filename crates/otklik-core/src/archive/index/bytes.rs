//! The index as bytes, inside the archive's snapshot (see [`crate::archive::Archive::to_bytes`]):
//! each stem with its counts and postings as they are in memory (already compact), each
//! entry's length and distinct terms. The word memo is not kept: it fills again as
//! entries are added, and a query stems what it does not find there.

use std::collections::HashMap;

use super::{Doc, Index, Term, put_varint};
use crate::archive::snapshot::{Reader, SnapshotError};

impl Index {
    /// Appends the index to `out`.
    pub(in crate::archive) fn write_bytes(&self, out: &mut Vec<u8>) {
        let mut stems: Vec<&str> = vec![""; self.term.len()];
        for (s, &t) in &self.terms {
            if let Some(slot) = stems.get_mut(t as usize) {
                *slot = s;
            }
        }
        put_varint(out, self.term.len() as u64);
        for (stem, term) in stems.iter().zip(&self.term) {
            put_varint(out, stem.len() as u64);
            out.extend_from_slice(stem.as_bytes());
            put_varint(out, u64::from(term.df));
            put_varint(out, u64::from(term.last));
            put_varint(out, term.postings.len() as u64);
            out.extend_from_slice(&term.postings);
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
        let mut terms: HashMap<Box<str>, u32> = HashMap::with_capacity(count);
        let mut term = Vec::with_capacity(count);
        for t in 0..count {
            let stem = r.str()?;
            let df = r.u32()?;
            if df as usize > slots {
                return Err(SnapshotError::Malformed(
                    "a stem in more entries than there are",
                ));
            }
            let last = r.u32()?;
            let n = r.count()?;
            let postings = r.bytes(n)?.to_vec();
            let number =
                u32::try_from(t).map_err(|_| SnapshotError::Malformed("too many stems"))?;
            if terms.insert(stem.into(), number).is_some() {
                return Err(SnapshotError::Malformed("a stem twice"));
            }
            term.push(Term { df, last, postings });
        }
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
            terms,
            term,
            docs,
            doc_terms,
            live,
            total_len,
        })
    }
}
