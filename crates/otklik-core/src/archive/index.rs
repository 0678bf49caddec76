//! An in-memory BM25 index over Snowball stems.
//!
//! Our own, not tantivy: the archive is one field, thousands to a hundred thousand short
//! posts, kept in memory and rebuilt at start-up; a few hundred lines do that in
//! milliseconds, while a search-engine crate would more than double the build of a
//! service compiled on a 2-core CI machine (and bring its own on-disk segments, which
//! the store already is).
//!
//! Scores: Okapi BM25 (k1 = 1.2, b = 0.75, idf = ln(1 + (N − df + ½)/(df + ½))), divided
//! by the score the query would give itself as a document of the archive. So a score is a
//! similarity from 0 (nothing shared) to about 1 (the same words), comparable from one
//! query to the next and one archive size to the next, and a fixed threshold
//! (`archive.threshold`) means something. Words of the query that no entry has count in
//! that self-score too: a post about something the archive never saw scores low.
//!
//! Bounded for hostile posts: a query reads at most [`MAX_QUERY_WORDS`] words and scores
//! with at most [`MAX_QUERY_TERMS`] distinct stems, the rarest (the most telling) first.

use std::collections::HashMap;

use crate::stem;

mod bytes;
mod frozen;

use frozen::Frozen;

/// BM25's term-frequency saturation.
pub(super) const K1: f64 = 1.2;
/// BM25's length normalisation.
pub(super) const B: f64 = 0.75;
/// A query scores with at most this many distinct stems: the rarest in the archive.
pub const MAX_QUERY_TERMS: usize = 64;
/// A query reads at most this many words of the post.
pub(super) const MAX_QUERY_WORDS: usize = 4096;
/// Stems in more than this share of the entries (prepositions, "the") carry almost no
/// weight; a query skips them rather than walk their long postings.
const COMMON_SHARE: f64 = 0.5;
/// At most this many distinct words (as written) remember their term; beyond it, rarer
/// words are stemmed each time they come. Bounds the memo at a few megabytes whatever
/// the archive holds, while the common words (most of any text) stay remembered.
const MAX_MEMO_WORDS: usize = 1 << 16;
/// Longer words (in bytes) are not remembered: no real word is (see
/// [`stem::MAX_WORD_CHARS`]).
const MAX_MEMO_BYTES: usize = 4 * stem::MAX_WORD_CHARS;

/// Whether `c` belongs to a word, as [`stem::words`] splits text (`char::is_alphanumeric`),
/// answered without the Unicode tables for ASCII and the Russian alphabet: nearly every
/// character of a post.
fn is_word_char(c: char) -> bool {
    match c {
        'a'..='z' | 'A'..='Z' | '0'..='9' | 'а'..='я' | 'А'..='Я' | 'ё' | 'Ё' => true,
        c if c.is_ascii() => false,
        c => c.is_alphanumeric(),
    }
}

/// The words of `text` as written (not yet lower-cased): exactly the pieces
/// [`stem::words`] reads, borrowed rather than copied.
fn raw_words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !is_word_char(c))
        .filter(|w| !w.is_empty())
}

/// A word as written, read as [`stem::words`] reads it (cut, lower case, `ё` as `е`).
fn normalise(raw: &str) -> String {
    stem::words(raw).next().unwrap_or_default()
}

/// Appends `v` to `out` as a varint: seven bits a byte, low bits first, the high bit set
/// on every byte but the last.
pub(super) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads a varint written by [`put_varint`] at `*at`, moving `*at` past it; `None` at the
/// end of `bytes`.
#[inline]
pub(super) fn get_varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    // Most are one byte: the gaps of common words, and counts.
    let first = *bytes.get(*at)?;
    *at += 1;
    if first < 0x80 {
        return Some(u64::from(first));
    }
    let mut v = u64::from(first & 0x7f);
    let mut shift = 7u32;
    loop {
        let b = *bytes.get(*at)?;
        *at += 1;
        v |= u64::from(b & 0x7f).checked_shl(shift).unwrap_or(0);
        if b < 0x80 {
            return Some(v);
        }
        shift += 7;
    }
}

/// The postings of one term, as [`Term::push`] writes them: (entry slot, occurrences) in
/// slot order. They may be in two pieces, the frozen ones and those added since (which
/// go on from the frozen ones' last slot).
struct Postings<'a> {
    bytes: &'a [u8],
    then: &'a [u8],
    at: usize,
    slot: u32,
}

impl Iterator for Postings<'_> {
    type Item = (u32, u32);

    #[inline]
    fn next(&mut self) -> Option<(u32, u32)> {
        if self.at >= self.bytes.len() && !self.then.is_empty() {
            self.bytes = std::mem::take(&mut self.then);
            self.at = 0;
        }
        let head = get_varint(self.bytes, &mut self.at)?;
        self.slot = self.slot.wrapping_add((head >> 1) as u32);
        let tf = if head & 1 == 1 {
            get_varint(self.bytes, &mut self.at)? as u32
        } else {
            1
        };
        Some((self.slot, tf))
    }
}

/// The counts of one stem of the archive. Its postings, every entry that had it when
/// added, in slot order (removed ones too: a query skips them), are in
/// [`Index::frozen`] and [`Index::tails`], or [`Index::fresh`]: per entry the gap from
/// the slot before (from 0 for the first), shifted left one bit with the low bit set when
/// it occurs more than once, then that count. Both as varints: an entry of a common word
/// takes one byte, of a rare one two or three, where a pair of `u32` took eight.
#[derive(Debug, Default, Clone, Copy)]
struct Term {
    /// How many live entries have it.
    df: u32,
    /// The slot of the last entry in its postings (the next one is written as the gap).
    last: u32,
}

impl Term {
    /// Appends (`slot`, `tf`) to `postings`, this term's.
    fn push(&mut self, postings: &mut Vec<u8>, slot: u32, tf: u32) {
        let gap = u64::from(slot.wrapping_sub(self.last));
        put_varint(postings, gap << 1 | u64::from(tf > 1));
        if tf > 1 {
            put_varint(postings, u64::from(tf));
        }
        self.last = slot;
    }
}

#[derive(Debug, Clone, Copy)]
struct Doc {
    /// Where its distinct terms start in `doc_terms` (they end where the next entry's
    /// start), to forget them when the entry is replaced.
    terms_at: usize,
    /// Its length in words.
    len: u32,
    live: bool,
}

/// The index: entries (by slot, the order they were added in) by stem, with the counts
/// BM25 needs. Adding is incremental; replacing an entry is removing its slot and adding
/// it again.
///
/// Compact: at 100,000 entries of a few dozen words, the postings are millions of
/// (entry, count) pairs, so they are delta- and varint-coded, a byte or two each (see
/// [`Term`]); the entries' term lists likewise, all in one arena. The stems and postings
/// there were at start-up (read from a snapshot, or built) are frozen in one arena each
/// ([`Frozen`]); only the stems added to since have a vector of their own.
#[derive(Debug, Default, Clone)]
pub struct Index {
    /// A word as written → its stem's term number: each distinct word is lower-cased and
    /// stemmed once, not at each of its occurrences (at most [`MAX_MEMO_WORDS`]).
    memo: HashMap<Box<str>, u32>,
    /// The stems numbered `0..frozen.len()` with their postings at the last freeze.
    frozen: Frozen,
    /// The postings added since the freeze to a frozen stem, by term number.
    tails: HashMap<u32, Vec<u8>>,
    /// A stem numbered since the freeze → its term number.
    terms: HashMap<Box<str>, u32>,
    /// The postings of the stems numbered since the freeze, by term number less
    /// `frozen.len()`.
    fresh: Vec<Vec<u8>>,
    /// By term number.
    term: Vec<Term>,
    docs: Vec<Doc>,
    /// The distinct terms of every entry, one entry after the other (see
    /// [`Doc::terms_at`]): ascending, each as a varint of its gap from the one before.
    doc_terms: Vec<u8>,
    live: u32,
    total_len: u64,
}

impl Index {
    /// An empty index.
    pub fn new() -> Index {
        Index::default()
    }

    /// How many entries it holds.
    pub fn len(&self) -> usize {
        self.live as usize
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// The slot the next [`Index::add`] gives.
    pub fn next_slot(&self) -> u32 {
        self.docs.len() as u32
    }

    /// Gives back the room kept for growth (the vectors double as they grow), and
    /// freezes the stems and postings into one arena each (once the store is read at
    /// start-up).
    pub fn shrink_to_fit(&mut self) {
        self.freeze();
        for p in self.tails.values_mut().chain(&mut self.fresh) {
            p.shrink_to_fit();
        }
        self.term.shrink_to_fit();
        self.docs.shrink_to_fit();
        self.doc_terms.shrink_to_fit();
    }

    /// Every stem and its postings into [`Index::frozen`]; as it was if they do not fit
    /// there (4 GiB).
    fn freeze(&mut self) {
        if self.tails.is_empty() && self.fresh.is_empty() {
            return;
        }
        let stems = self.stems();
        let mut frozen = Frozen::with_capacity(stems.len());
        for (t, stem) in stems.iter().enumerate() {
            let (a, b) = self.postings_of(t as u32);
            let mut joined;
            let postings = if b.is_empty() {
                a
            } else {
                joined = a.to_vec();
                joined.extend_from_slice(b);
                &joined[..]
            };
            if frozen.push(stem, postings).is_err() {
                return;
            }
        }
        frozen.shrink_to_fit();
        self.frozen = frozen;
        self.tails = HashMap::new();
        self.terms = HashMap::new();
        self.fresh = Vec::new();
    }

    /// Every stem, by term number.
    fn stems(&self) -> Vec<&str> {
        let mut stems: Vec<&str> = vec![""; self.term.len()];
        for (t, s) in stems.iter_mut().enumerate().take(self.frozen.len()) {
            *s = self.frozen.stem(t as u32);
        }
        for (s, &t) in &self.terms {
            if let Some(slot) = stems.get_mut(t as usize) {
                *slot = s;
            }
        }
        stems
    }

    /// The postings of term `t`, in the two pieces they may be in (see [`Postings`]).
    fn postings_of(&self, t: u32) -> (&[u8], &[u8]) {
        let frozen = self.frozen.len() as u32;
        if t < frozen {
            let tail = self.tails.get(&t).map_or(&[][..], |v| &v[..]);
            (self.frozen.postings(t), tail)
        } else {
            let fresh = self.fresh.get((t - frozen) as usize);
            (fresh.map_or(&[][..], |v| &v[..]), &[])
        }
    }

    fn postings(&self, t: u32) -> Postings<'_> {
        let (bytes, then) = self.postings_of(t);
        Postings {
            bytes,
            then,
            at: 0,
            slot: 0,
        }
    }

    /// The number of `stem`, if the index has it.
    fn number(&self, stem: &str) -> Option<u32> {
        self.frozen
            .find(stem)
            .or_else(|| self.terms.get(stem).copied())
    }

    /// Appends (`slot`, `tf`) to the postings of term `t`.
    fn push_posting(&mut self, t: u32, slot: u32, tf: u32) {
        let frozen = self.frozen.len() as u32;
        let Some(term) = self.term.get_mut(t as usize) else {
            return;
        };
        let postings = if t < frozen {
            self.tails.entry(t).or_default()
        } else if let Some(p) = self.fresh.get_mut((t - frozen) as usize) {
            p
        } else {
            return;
        };
        term.df = term.df.saturating_add(1);
        term.push(postings, slot, tf);
    }

    fn df(&self, t: u32) -> u32 {
        self.term.get(t as usize).map_or(0, |t| t.df)
    }

    /// The term of a word as written, numbering its stem if it is new.
    fn term_of(&mut self, raw: &str) -> u32 {
        if let Some(&t) = self.memo.get(raw) {
            return t;
        }
        let s = stem::stem(&normalise(raw));
        let t = match self.frozen.find(&s) {
            Some(t) => t,
            None => {
                let next = self.term.len() as u32;
                let t = *self.terms.entry(s.into_boxed_str()).or_insert(next);
                if t == next {
                    self.term.push(Term::default());
                    self.fresh.push(Vec::new());
                }
                t
            }
        };
        if self.memo.len() < MAX_MEMO_WORDS && raw.len() <= MAX_MEMO_BYTES {
            self.memo.insert(raw.into(), t);
        }
        t
    }

    /// The term of a word as written if the index knows its stem, else `Err(stem)`.
    fn known(&self, raw: &str) -> Result<u32, String> {
        if let Some(&t) = self.memo.get(raw) {
            return Ok(t);
        }
        let s = stem::stem(&normalise(raw));
        self.number(&s).ok_or(s)
    }

    /// Indexes a new entry whose searchable text is `fields` (read as if joined by line
    /// breaks) and returns its slot ([`Index::next_slot`]).
    pub fn add(&mut self, fields: &[&str]) -> u32 {
        let slot = self.next_slot();
        // Every word's term; sorted, runs of one term are its count.
        let mut words: Vec<u32> = Vec::new();
        for field in fields {
            for raw in raw_words(field) {
                words.push(self.term_of(raw));
            }
        }
        let len = u32::try_from(words.len()).unwrap_or(u32::MAX);
        words.sort_unstable();
        let terms_at = self.doc_terms.len();
        let mut previous = 0u32;
        for run in words.chunk_by(|a, b| a == b) {
            let t = run[0];
            self.push_posting(t, slot, u32::try_from(run.len()).unwrap_or(u32::MAX));
            put_varint(&mut self.doc_terms, u64::from(t - previous));
            previous = t;
        }
        self.docs.push(Doc {
            terms_at,
            len,
            live: true,
        });
        self.live += 1;
        self.total_len += u64::from(len);
        slot
    }

    /// The distinct terms of the entry in `slot`.
    fn terms_of(&self, slot: u32) -> Vec<u32> {
        let Some(doc) = self.docs.get(slot as usize) else {
            return Vec::new();
        };
        let end = self
            .docs
            .get(slot as usize + 1)
            .map_or(self.doc_terms.len(), |d| d.terms_at);
        let bytes = self.doc_terms.get(doc.terms_at..end).unwrap_or(&[]);
        let (mut at, mut t, mut out) = (0, 0u32, Vec::new());
        while let Some(gap) = get_varint(bytes, &mut at) {
            t = t.wrapping_add(gap as u32);
            out.push(t);
        }
        out
    }

    /// Forgets the entry in `slot` (its postings are skipped from now on).
    pub fn remove(&mut self, slot: u32) {
        let Some(doc) = self.docs.get_mut(slot as usize) else {
            return;
        };
        if !doc.live {
            return;
        }
        doc.live = false;
        let len = doc.len;
        // Saturating: an index read from a snapshot is checked, but never trusted to the
        // point of a panic.
        self.live = self.live.saturating_sub(1);
        self.total_len = self.total_len.saturating_sub(u64::from(len));
        for t in self.terms_of(slot) {
            if let Some(term) = self.term.get_mut(t as usize) {
                term.df = term.df.saturating_sub(1);
            }
        }
    }

    /// Whether the entry in `slot` is live (added and not removed since).
    pub fn is_live(&self, slot: u32) -> bool {
        self.docs.get(slot as usize).is_some_and(|d| d.live)
    }

    fn idf(&self, df: u32) -> f64 {
        let n = f64::from(self.live);
        let df = f64::from(df);
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
    }

    fn avgdl(&self) -> f64 {
        if self.live == 0 {
            1.0
        } else {
            (self.total_len as f64 / f64::from(self.live)).max(1.0)
        }
    }

    /// The `k` entries (slots) most like the text `fields` (read as if joined by line
    /// breaks), best first, each with its similarity (see the module's notes); entries
    /// sharing no telling stem with it are not listed.
    pub fn query(&self, fields: &[&str], k: usize) -> Vec<(u32, f64)> {
        if self.live == 0 || k == 0 {
            return Vec::new();
        }
        // Distinct stems with their counts in the query; unknown stems only count.
        let mut known: HashMap<u32, u32> = HashMap::new();
        let mut unknown: HashMap<String, u32> = HashMap::new();
        let mut qlen = 0u32;
        let words = fields.iter().flat_map(|f| raw_words(f));
        for raw in words.take(MAX_QUERY_WORDS) {
            qlen += 1;
            match self.known(raw) {
                Ok(t) if self.df(t) > 0 => *known.entry(t).or_insert(0) += 1,
                Ok(_) => *unknown.entry(normalise(raw)).or_insert(0) += 1,
                Err(s) => *unknown.entry(s).or_insert(0) += 1,
            }
        }
        let common = (COMMON_SHARE * f64::from(self.live)).max(1.0);
        let mut terms: Vec<(u32, u32)> = known
            .into_iter()
            .filter(|&(t, _)| self.live < 4 || f64::from(self.df(t)) <= common)
            .collect();
        terms.sort_unstable_by_key(|&(t, _)| (self.df(t), t));
        terms.truncate(MAX_QUERY_TERMS);
        if terms.is_empty() {
            return Vec::new();
        }
        let avgdl = self.avgdl();
        let weight = |tf: u32, len: f64| {
            let tf = f64::from(tf);
            tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * len / avgdl))
        };
        // The query as a document of its own length: the best a match can do.
        let qlen = f64::from(qlen);
        let mut unknown_tf: Vec<u32> = unknown.into_values().collect();
        unknown_tf.sort_unstable_by(|a, b| b.cmp(a));
        unknown_tf.truncate(MAX_QUERY_TERMS);
        let own: f64 = terms
            .iter()
            .map(|&(t, qtf)| self.idf(self.df(t)) * weight(qtf, qlen))
            .sum::<f64>()
            + unknown_tf
                .iter()
                .map(|&qtf| self.idf(0) * weight(qtf, qlen))
                .sum::<f64>();
        let mut acc = vec![0f64; self.docs.len()];
        let mut touched: Vec<u32> = Vec::new();
        for &(t, _) in &terms {
            let Some(term) = self.term.get(t as usize) else {
                continue;
            };
            let idf = self.idf(term.df);
            for (slot, tf) in self.postings(t) {
                let (Some(doc), Some(a)) =
                    (self.docs.get(slot as usize), acc.get_mut(slot as usize))
                else {
                    continue;
                };
                if !doc.live {
                    continue;
                }
                if *a == 0.0 {
                    touched.push(slot);
                }
                *a += idf * weight(tf, f64::from(doc.len));
            }
        }
        let mut hits: Vec<(u32, f64)> = touched
            .into_iter()
            .map(|s| (s, (acc[s as usize] / own).min(1.0)))
            .collect();
        let by_score = |a: &(u32, f64), b: &(u32, f64)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if hits.len() > k {
            hits.select_nth_unstable_by(k - 1, by_score);
            hits.truncate(k);
        }
        hits.sort_unstable_by(by_score);
        hits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_scores_about_one_against_itself() {
        let mut ix = Index::new();
        ix.add(&["прорвало трубу водопровода на улице Ленина"]);
        ix.add(&["яма на дороге у школы"]);
        ix.add(&["нет света третий день"]);
        let hits = ix.query(&["прорвало трубу водопровода на улице Ленина"], 3);
        assert_eq!(hits[0].0, 0);
        assert!(hits[0].1 > 0.95, "{hits:?}");
    }

    #[test]
    fn a_hostile_query_is_cut() {
        let mut ix = Index::new();
        for i in 0..100 {
            ix.add(&[&format!("слово{i} труба")]);
        }
        let long: String = (0..100_000)
            .map(|i| format!("слово{} ", i % 1000))
            .collect();
        let hits = ix.query(&[&long], 3);
        assert!(hits.len() <= 3);
    }

    #[test]
    fn removed_entries_are_not_found() {
        let mut ix = Index::new();
        let gas = ix.add(&["газ"]);
        ix.add(&["вода"]);
        ix.remove(gas);
        ix.remove(gas);
        assert!(ix.query(&["газ"], 3).is_empty());
        assert_eq!(ix.len(), 1);
    }

    #[test]
    fn words_are_split_as_routing_splits_them() {
        // Every character: the fast path for ASCII and Russian letters agrees with the
        // Unicode tables `stem::words` splits by.
        for c in (0..=0x10_ffff).filter_map(char::from_u32) {
            assert_eq!(
                is_word_char(c),
                c.is_alphanumeric(),
                "{c:?} U+{:04X}",
                c as u32
            );
        }
        let text = "Школа №1: дети-инвалиды, ЁЛКА 4G! Ⅻ½ mañana\u{300}x";
        let ours: Vec<String> = raw_words(text).map(normalise).collect();
        let theirs: Vec<String> = stem::words(text).collect();
        assert_eq!(ours, theirs);
    }

    #[test]
    fn a_remembered_word_and_a_new_one_of_the_same_stem_are_one_term() {
        let mut ix = Index::new();
        let a = ix.add(&["Трубу прорвало"]);
        let b = ix.add(&["трубы ТРУБОЙ труба"]);
        assert_eq!(ix.terms.len(), 2, "{:?}", ix.terms);
        let t = ix.terms["труб"] as usize;
        let postings: Vec<(u32, u32)> = ix.postings(t as u32).collect();
        assert_eq!(postings, [(a, 1), (b, 3)]);
        assert_eq!(ix.known("ТРУБАМ"), Ok(t as u32));
        assert_eq!(ix.known("газом"), Err("газ".to_string()));
        // An endless word is not remembered, yet read the same way each time.
        let long = "ы".repeat(10_000);
        let c = ix.add(&[&long, &long]);
        assert!(ix.memo.len() <= 5, "{}", ix.memo.len());
        let hits = ix.query(&[&long], 5);
        assert_eq!(hits.first().map(|h| h.0), Some(c), "{hits:?}");
    }

    /// The index as plainly as it can be written: every entry's stems counted in a map,
    /// every query scored against every live entry. Term numbers are given in the order
    /// stems first appear, as the index gives them, so that sums run in the same order
    /// and scores agree to the last bit.
    #[derive(Default)]
    struct Reference {
        numbers: HashMap<String, u32>,
        /// By slot: the entry's stems with their counts and its length, `None` once removed.
        docs: Vec<Option<(HashMap<u32, u32>, u32)>>,
    }

    impl Reference {
        fn add(&mut self, text: &str) -> u32 {
            let mut counts: HashMap<u32, u32> = HashMap::new();
            let mut len = 0;
            for w in stem::words(text) {
                let next = self.numbers.len() as u32;
                let t = *self.numbers.entry(stem::stem(&w)).or_insert(next);
                *counts.entry(t).or_insert(0) += 1;
                len += 1;
            }
            self.docs.push(Some((counts, len)));
            self.docs.len() as u32 - 1
        }

        fn remove(&mut self, slot: u32) {
            if let Some(d) = self.docs.get_mut(slot as usize) {
                *d = None;
            }
        }

        fn query(&self, text: &str, k: usize) -> Vec<(u32, f64)> {
            let live: Vec<(u32, &HashMap<u32, u32>, u32)> = self
                .docs
                .iter()
                .enumerate()
                .filter_map(|(s, d)| d.as_ref().map(|(c, l)| (s as u32, c, *l)))
                .collect();
            if live.is_empty() || k == 0 {
                return Vec::new();
            }
            let n = live.len() as f64;
            let df = |t: u32| live.iter().filter(|d| d.1.contains_key(&t)).count() as u32;
            let idf = |df: u32| (1.0 + (n - f64::from(df) + 0.5) / (f64::from(df) + 0.5)).ln();
            let total: u64 = live.iter().map(|d| u64::from(d.2)).sum();
            let avgdl = (total as f64 / n).max(1.0);
            let weight = |tf: u32, len: f64| {
                let tf = f64::from(tf);
                tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * len / avgdl))
            };
            let mut known: HashMap<u32, u32> = HashMap::new();
            let mut unknown: HashMap<String, u32> = HashMap::new();
            let mut qlen = 0u32;
            for w in stem::words(text).take(MAX_QUERY_WORDS) {
                qlen += 1;
                let s = stem::stem(&w);
                match self.numbers.get(&s) {
                    Some(&t) if df(t) > 0 => *known.entry(t).or_insert(0) += 1,
                    Some(_) => *unknown.entry(w).or_insert(0) += 1,
                    None => *unknown.entry(s).or_insert(0) += 1,
                }
            }
            let common = (COMMON_SHARE * n).max(1.0);
            let mut terms: Vec<(u32, u32)> = known
                .into_iter()
                .filter(|&(t, _)| live.len() < 4 || f64::from(df(t)) <= common)
                .collect();
            terms.sort_unstable_by_key(|&(t, _)| (df(t), t));
            terms.truncate(MAX_QUERY_TERMS);
            if terms.is_empty() {
                return Vec::new();
            }
            let qlen = f64::from(qlen);
            let mut unknown_tf: Vec<u32> = unknown.into_values().collect();
            unknown_tf.sort_unstable_by(|a, b| b.cmp(a));
            unknown_tf.truncate(MAX_QUERY_TERMS);
            let own: f64 = terms
                .iter()
                .map(|&(t, qtf)| idf(df(t)) * weight(qtf, qlen))
                .sum::<f64>()
                + unknown_tf
                    .iter()
                    .map(|&qtf| idf(0) * weight(qtf, qlen))
                    .sum::<f64>();
            let mut scores: Vec<(u32, f64)> = live
                .iter()
                .filter_map(|&(slot, counts, len)| {
                    let mut sum = 0.0;
                    let mut shared = false;
                    for &(t, _) in &terms {
                        if let Some(&tf) = counts.get(&t) {
                            sum += idf(df(t)) * weight(tf, f64::from(len));
                            shared = true;
                        }
                    }
                    shared.then(|| (slot, (sum / own).min(1.0)))
                })
                .collect();
            scores.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            scores.truncate(k);
            scores
        }
    }

    use proptest::prelude::*;

    /// A few words in several forms (so stems are shared across forms), with case.
    const WORDS: &[&str] = &[
        "труба",
        "трубы",
        "ТРУБУ",
        "вода",
        "воды",
        "течёт",
        "течет",
        "дорога",
        "дороги",
        "яма",
        "ямы",
        "школа",
        "школе",
        "свет",
        "света",
        "нет",
        "на",
        "у",
        "Ленина",
        "Берёзовка",
        "Берёзовке",
        "газ",
        "газом",
        "мост",
        "1",
        "42",
    ];

    fn text() -> impl Strategy<Value = String> {
        proptest::collection::vec(0..WORDS.len(), 0..12).prop_map(|ix| {
            ix.into_iter()
                .map(|i| WORDS[i])
                .collect::<Vec<_>>()
                .join(" ")
        })
    }

    proptest! {
        /// The compact index ranks and scores exactly as the plain reference, with entries
        /// added, removed and replaced.
        #[test]
        fn the_compact_index_answers_as_the_plain_one(
            docs in proptest::collection::vec((text(), any::<bool>()), 1..40),
            queries in proptest::collection::vec(text(), 1..8),
            k in 1usize..6,
        ) {
            let mut ix = Index::new();
            let mut reference = Reference::default();
            for (i, (doc, remove_one)) in docs.iter().enumerate() {
                let a = ix.add(&[doc]);
                let b = reference.add(doc);
                prop_assert_eq!(a, b);
                if *remove_one {
                    // Forget an earlier entry (or this one), as a replacement does.
                    let slot = (i * 7 % (i + 1)) as u32;
                    ix.remove(slot);
                    reference.remove(slot);
                }
            }
            for q in &queries {
                prop_assert_eq!(ix.query(&[q], k), reference.query(q, k), "query {:?}", q);
            }
        }

        /// Frozen into arenas at any point (as at start-up), then added to, removed from
        /// and frozen again, the index still answers as the plain reference.
        #[test]
        fn a_frozen_index_answers_as_the_plain_one(
            docs in proptest::collection::vec((text(), any::<bool>(), any::<bool>()), 1..40),
            queries in proptest::collection::vec(text(), 1..8),
            k in 1usize..6,
        ) {
            let mut ix = Index::new();
            let mut reference = Reference::default();
            for (i, (doc, remove_one, freeze)) in docs.iter().enumerate() {
                prop_assert_eq!(ix.add(&[doc]), reference.add(doc));
                if *remove_one {
                    let slot = (i * 7 % (i + 1)) as u32;
                    ix.remove(slot);
                    reference.remove(slot);
                }
                if *freeze {
                    ix.shrink_to_fit();
                }
            }
            for q in &queries {
                prop_assert_eq!(ix.query(&[q], k), reference.query(q, k), "query {:?}", q);
            }
        }
    }
}
