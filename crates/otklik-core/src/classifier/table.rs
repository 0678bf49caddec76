//! The routing model's features, each held once and numbered: one `String` with every
//! feature's text one after another, the `u32` end of each, and a `u32` open-addressing
//! table from a feature's text to its number. The naive Bayes counts and the regression's
//! rows are kept by these numbers, so that a feature's text is held once for both, with no
//! heap string of its own (a map keyed by `String` took several times the text's size).
//! Numbers are given in the order features are first met and never taken back.

use std::hash::{BuildHasher, RandomState};

/// An empty slot of the open-addressing table.
const EMPTY: u32 = u32::MAX;

/// Interned features.
#[derive(Clone, Default)]
pub(super) struct Table {
    /// Every feature's text, one after another.
    text: String,
    /// The end of feature `i`'s text in `text`.
    ends: Vec<u32>,
    /// Feature numbers by hash, `EMPTY` where free; a power of two long, at most half full.
    slots: Vec<u32>,
    hasher: RandomState,
}

impl Table {
    /// How many features it holds.
    pub(super) fn len(&self) -> usize {
        self.ends.len()
    }

    /// The text of feature `id` (empty for a number it never gave).
    pub(super) fn name(&self, id: u32) -> &str {
        let i = id as usize;
        let Some(&end) = self.ends.get(i) else {
            return "";
        };
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        self.text.get(start..end as usize).unwrap_or("")
    }

    /// The slot where `f` is, or the free slot where it would go.
    fn slot(&self, f: &str) -> usize {
        let mask = self.slots.len() - 1;
        let mut i = (self.hasher.hash_one(f) as usize) & mask;
        loop {
            let id = self.slots[i];
            if id == EMPTY || self.name(id) == f {
                return i;
            }
            i = (i + 1) & mask;
        }
    }

    /// The number of feature `f`, if it holds it.
    pub(super) fn get(&self, f: &str) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let id = self.slots[self.slot(f)];
        (id != EMPTY).then_some(id)
    }

    /// The number of feature `f`, given it now if it is new; `None` only when the table is
    /// full (4 GiB of feature text, or 2³¹ features: never for posts).
    pub(super) fn intern(&mut self, f: &str) -> Option<u32> {
        if let Some(id) = self.get(f) {
            return Some(id);
        }
        let end = u32::try_from(self.text.len() + f.len()).ok()?;
        let id = u32::try_from(self.ends.len())
            .ok()
            .filter(|&n| n < EMPTY / 2)?;
        if (self.ends.len() + 1) * 2 > self.slots.len() {
            self.grow();
        }
        self.text.push_str(f);
        self.ends.push(end);
        let s = self.slot(f);
        self.slots[s] = id;
        Some(id)
    }

    /// Doubles the slots and puts every feature back.
    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(16);
        self.slots = vec![EMPTY; size];
        for id in 0..self.ends.len() as u32 {
            let s = self.slot(self.name(id));
            self.slots[s] = id;
        }
    }

    /// Gives back the spare capacity of the text and the ends (the slots stay: they must
    /// stay a power of two).
    pub(super) fn shrink_to_fit(&mut self) {
        self.text.shrink_to_fit();
        self.ends.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_features_once_in_the_order_met() {
        let mut t = Table::default();
        assert_eq!(t.get("вод"), None);
        let words: Vec<String> = (0..1000).map(|i| format!("w{i}")).collect();
        for (i, w) in words.iter().enumerate() {
            assert_eq!(t.intern(w), Some(i as u32));
        }
        assert_eq!(t.intern("w7"), Some(7));
        assert_eq!(t.intern(""), Some(1000));
        assert_eq!(t.len(), 1001);
        for (i, w) in words.iter().enumerate() {
            assert_eq!(t.get(w), Some(i as u32));
            assert_eq!(t.name(i as u32), w);
        }
        assert_eq!(t.get(""), Some(1000));
        assert_eq!(t.get("нет"), None);
        assert_eq!(t.name(5000), "");
    }
}
