//! The stems and postings of an index held in one arena each: what a snapshot read back
//! (or a build at start-up) holds, frozen, with only the stems added to since kept apart.
//!
//! At 100,000 stems a heap allocation and a hash-map entry per stem (a boxed string, a
//! postings vector, a map slot) cost some 13 MB for what is about 4 MB of bytes; here a
//! stem costs its bytes, two `u32` offsets and two `u32` slots of the lookup table.

use std::hash::{BuildHasher, RandomState};

/// Stems and postings by term number (`0..len`), each in one arena, and a table to find
/// a stem's number.
#[derive(Debug, Default, Clone)]
pub(super) struct Frozen {
    /// Every stem, by term number, one after the other.
    stems: String,
    /// By term number: where its stem ends in `stems` (it starts where the one before
    /// ends).
    stem_ends: Vec<u32>,
    /// Every term's postings as [`super::Term`] writes them, by term number, one after
    /// the other.
    postings: Vec<u8>,
    /// By term number: where its postings end in `postings`.
    post_ends: Vec<u32>,
    /// Open addressing, linear probing: a slot holds a term number plus one (0: empty).
    /// A power of two long, at most half full.
    table: Vec<u32>,
    /// Hashes stems for `table` (keys chosen per index).
    hasher: RandomState,
}

/// Why a stem could not be frozen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refused {
    /// The stem is frozen already (under another number).
    Twice,
    /// The arenas would pass what a `u32` offset reaches (4 GiB).
    TooLarge,
}

impl Frozen {
    /// Room for `terms` stems.
    pub(super) fn with_capacity(terms: usize) -> Frozen {
        let slots = terms.saturating_mul(2).max(2).next_power_of_two();
        Frozen {
            stem_ends: Vec::with_capacity(terms),
            post_ends: Vec::with_capacity(terms),
            table: vec![0; slots],
            ..Frozen::default()
        }
    }

    /// How many stems it holds.
    pub(super) fn len(&self) -> usize {
        self.stem_ends.len()
    }

    /// Adds the next term number's stem and postings. The table must have room (see
    /// [`Frozen::with_capacity`]): a full one refuses as [`Refused::TooLarge`].
    pub(super) fn push(&mut self, stem: &str, postings: &[u8]) -> Result<(), Refused> {
        if (self.len() + 1) * 2 > self.table.len() {
            return Err(Refused::TooLarge);
        }
        let number = u32::try_from(self.len()).map_err(|_| Refused::TooLarge)?;
        let stem_end = u32::try_from(self.stems.len() + stem.len());
        let post_end = u32::try_from(self.postings.len() + postings.len());
        let (Ok(stem_end), Ok(post_end)) = (stem_end, post_end) else {
            return Err(Refused::TooLarge);
        };
        let mask = self.table.len() - 1;
        let mut i = (self.hasher.hash_one(stem) as usize) & mask;
        loop {
            match self.table.get(i).copied() {
                Some(0) | None => break,
                Some(v) if self.stem(v - 1) == stem => return Err(Refused::Twice),
                Some(_) => i = (i + 1) & mask,
            }
        }
        if let Some(slot) = self.table.get_mut(i) {
            *slot = number + 1;
        }
        self.stems.push_str(stem);
        self.stem_ends.push(stem_end);
        self.postings.extend_from_slice(postings);
        self.post_ends.push(post_end);
        Ok(())
    }

    /// Gives back the room the arenas kept for growth.
    pub(super) fn shrink_to_fit(&mut self) {
        self.stems.shrink_to_fit();
        self.stem_ends.shrink_to_fit();
        self.postings.shrink_to_fit();
        self.post_ends.shrink_to_fit();
    }

    /// The term number of `stem`, if it is here.
    pub(super) fn find(&self, stem: &str) -> Option<u32> {
        if self.stem_ends.is_empty() {
            return None;
        }
        let mask = self.table.len() - 1;
        let mut i = (self.hasher.hash_one(stem) as usize) & mask;
        loop {
            match self.table.get(i).copied() {
                Some(0) | None => return None,
                Some(v) if self.stem(v - 1) == stem => return Some(v - 1),
                Some(_) => i = (i + 1) & mask,
            }
        }
    }

    /// The stem of term `t` ("" for a number it does not hold).
    pub(super) fn stem(&self, t: u32) -> &str {
        let (start, end) = span(&self.stem_ends, t);
        self.stems.get(start..end).unwrap_or("")
    }

    /// The postings of term `t` (none for a number it does not hold).
    pub(super) fn postings(&self, t: u32) -> &[u8] {
        let (start, end) = span(&self.post_ends, t);
        self.postings.get(start..end).unwrap_or(&[])
    }
}

/// Where item `t` starts and ends in an arena whose items end at `ends`.
fn span(ends: &[u32], t: u32) -> (usize, usize) {
    let t = t as usize;
    let start = t
        .checked_sub(1)
        .and_then(|p| ends.get(p).copied())
        .unwrap_or(0);
    let end = ends.get(t).copied().unwrap_or(start);
    (start as usize, end as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_are_found_by_their_number_and_twice_is_refused() {
        let mut f = Frozen::with_capacity(3);
        assert_eq!(f.find("труб"), None);
        f.push("труб", &[1, 2]).unwrap();
        f.push("", &[]).unwrap();
        f.push("вод", &[3]).unwrap();
        assert_eq!(f.push("вод", &[]), Err(Refused::Twice));
        assert_eq!(f.find("труб"), Some(0));
        assert_eq!(f.find(""), Some(1));
        assert_eq!(f.find("вод"), Some(2));
        assert_eq!(f.find("газ"), None);
        assert_eq!((f.stem(2), f.postings(2)), ("вод", &[3u8][..]));
        assert_eq!((f.stem(0), f.postings(0)), ("труб", &[1u8, 2][..]));
        assert_eq!((f.stem(9), f.postings(9)), ("", &[][..]));
        // The table is full at half its slots: more is refused, not probed forever.
        let mut small = Frozen::with_capacity(1);
        small.push("а", &[]).unwrap();
        assert_eq!(small.push("б", &[]), Err(Refused::TooLarge));
    }
}
