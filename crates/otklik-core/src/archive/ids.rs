//! The archive's ids by slot and the live slot of each id: every id once in one string,
//! the `u32` end of each, and a `u32` open-addressing table (linear probing, keyed hash)
//! from an id to its live slot, which compares the ids themselves. At 100,000 entries that
//! is ~2.3 MB where a `usize` end each and a map of 64-bit hashes (with a second map for
//! the hashes two ids share) took 4.7.

use std::hash::{BuildHasher, RandomState};

/// A free place in the table.
const FREE: u32 = u32::MAX;

/// The ids of the entries by slot, in one string, and the live slot of each id.
#[derive(Debug, Default)]
pub(super) struct Ids {
    /// Every slot's id, one after the other.
    pub(super) arena: String,
    /// By slot: where its id ends in `arena` (it starts where the slot before ends).
    pub(super) ends: Vec<u32>,
    /// Live slots, placed by the hash of their id; [`FREE`] where none. A power of two
    /// long, at most seven eighths full.
    table: Vec<u32>,
    /// How many ids are live.
    live: usize,
    /// Hashes ids (keys chosen once per archive; not saved in a snapshot, whose reader
    /// hashes the ids again).
    hasher: RandomState,
}

impl Ids {
    /// The id of `slot`.
    pub(super) fn of(&self, slot: u32) -> &str {
        let slot = slot as usize;
        let start = slot
            .checked_sub(1)
            .and_then(|p| self.ends.get(p).copied())
            .unwrap_or(0) as usize;
        let end = self.ends.get(slot).map_or(start, |&e| e as usize);
        self.arena.get(start..end).unwrap_or("")
    }

    /// Where `id` is in the table, or the free place where it would go (the table is
    /// never full, so there is always one).
    fn place(&self, id: &str) -> usize {
        let mask = self.table.len() - 1;
        let mut i = (self.hasher.hash_one(id) as usize) & mask;
        loop {
            let s = self.table[i];
            if s == FREE || self.of(s) == id {
                return i;
            }
            i = (i + 1) & mask;
        }
    }

    /// The live slot of `id`.
    pub(super) fn slot(&self, id: &str) -> Option<u32> {
        if self.table.is_empty() {
            return None;
        }
        let s = self.table[self.place(id)];
        (s != FREE).then_some(s)
    }

    /// Whether one more id of `len` bytes fits (ends are `u32`: 4 GiB of ids in all).
    pub(super) fn has_room(&self, len: usize) -> bool {
        u32::try_from(self.arena.len() + len).is_ok() && self.ends.len() < FREE as usize
    }

    /// Records `id` in the next slot, `slot`, as its live slot (replacing the one it had).
    /// The caller checked [`Ids::has_room`].
    pub(super) fn push(&mut self, id: &str, slot: u32) {
        self.arena.push_str(id);
        self.ends
            .push(u32::try_from(self.arena.len()).unwrap_or(u32::MAX));
        self.link(slot);
    }

    /// Makes `slot` (already in the arena) the live slot of its id.
    pub(super) fn link(&mut self, slot: u32) {
        if (self.live + 1) * 8 > self.table.len() * 7 {
            self.grow();
        }
        let i = self.place(self.of(slot));
        if self.table[i] == FREE {
            self.live += 1;
        }
        self.table[i] = slot;
    }

    /// Doubles the table and places every live slot again.
    fn grow(&mut self) {
        let size = (self.table.len() * 2).max(16);
        let old = std::mem::replace(&mut self.table, vec![FREE; size]);
        for s in old.into_iter().filter(|&s| s != FREE) {
            let i = self.place(self.of(s));
            self.table[i] = s;
        }
    }

    /// Forgets the live slot of `id`. Moves back the entries after it in its run that
    /// could sit earlier, so that a lookup never stops short at the gap.
    pub(super) fn forget(&mut self, id: &str) {
        if self.table.is_empty() {
            return;
        }
        let mask = self.table.len() - 1;
        let mut gap = self.place(id);
        if self.table[gap] == FREE {
            return;
        }
        self.table[gap] = FREE;
        self.live -= 1;
        let mut i = gap;
        loop {
            i = (i + 1) & mask;
            let s = self.table[i];
            if s == FREE {
                return;
            }
            let home = (self.hasher.hash_one(self.of(s)) as usize) & mask;
            // It may move to the gap when its home is not in (gap, i] (cyclically).
            let stays = if gap <= i {
                gap < home && home <= i
            } else {
                gap < home || home <= i
            };
            if !stays {
                self.table[gap] = s;
                self.table[i] = FREE;
                gap = i;
            }
        }
    }

    /// How many ids are live.
    pub(super) fn len(&self) -> usize {
        self.live
    }

    /// Gives back the room kept for growth.
    pub(super) fn shrink_to_fit(&mut self) {
        self.arena.shrink_to_fit();
        self.ends.shrink_to_fit();
    }

    /// The ids by slot as a snapshot holds them (`arena`, `ends`), none live yet.
    pub(super) fn from_parts(arena: String, ends: Vec<u32>) -> Ids {
        Ids {
            arena,
            ends,
            ..Ids::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_found_replaced_and_forgotten() {
        let mut ids = Ids::default();
        for n in 0..2000u32 {
            ids.push(&format!("OTK-{n}"), n);
        }
        assert_eq!(ids.len(), 2000);
        // Replaced: the same id in a new slot.
        ids.push("OTK-7", 2000);
        assert_eq!(ids.len(), 2000);
        assert_eq!(ids.slot("OTK-7"), Some(2000));
        assert_eq!(ids.of(2000), "OTK-7");
        // Forget every other one; the rest stay found.
        for n in (0..2000).step_by(2) {
            ids.forget(&format!("OTK-{n}"));
        }
        ids.forget("OTK-0");
        ids.forget("nobody");
        assert_eq!(ids.len(), 1000);
        for n in 0..2000u32 {
            let want = match n {
                7 => Some(2000),
                n if n % 2 == 0 => None,
                n => Some(n),
            };
            assert_eq!(ids.slot(&format!("OTK-{n}")), want, "{n}");
        }
        assert_eq!(Ids::default().slot("x"), None);
    }
}
