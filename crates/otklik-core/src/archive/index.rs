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

#[derive(Debug, Clone, Copy)]
struct Doc {
    /// Its distinct terms are `doc_terms[start..start + count]`, to forget them when the
    /// entry is replaced.
    start: usize,
    count: u32,
    /// Its length in words.
    len: u32,
    live: bool,
}

/// The index: entries (by slot, the order they were added in) by stem, with the counts
/// BM25 needs. Adding is incremental; replacing an entry is removing its slot and adding
/// it again.
#[derive(Debug, Default, Clone)]
pub struct Index {
    /// A word as written → its stem's term number: each distinct word is lower-cased and
    /// stemmed once, not at each of its occurrences (at most [`MAX_MEMO_WORDS`]).
    memo: HashMap<Box<str>, u32>,
    /// A stem → its term number.
    terms: HashMap<String, u32>,
    /// Per term: how many live entries have it.
    df: Vec<u32>,
    /// Per term: (entry slot, occurrences), in slot order.
    postings: Vec<Vec<(u32, u32)>>,
    docs: Vec<Doc>,
    /// The distinct terms of every entry, one after the other (see [`Doc::start`]).
    doc_terms: Vec<u32>,
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

    /// The term of a word as written, numbering its stem if it is new.
    fn term_of(&mut self, raw: &str) -> u32 {
        if let Some(&t) = self.memo.get(raw) {
            return t;
        }
        let s = stem::stem(&normalise(raw));
        let next = self.df.len() as u32;
        let t = *self.terms.entry(s).or_insert(next);
        if t == next {
            self.df.push(0);
            self.postings.push(Vec::new());
        }
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
        self.terms.get(&s).copied().ok_or(s)
    }

    /// Indexes a new entry whose searchable text is `fields` (read as if joined by line
    /// breaks) and returns its slot ([`Index::next_slot`]).
    pub fn add(&mut self, fields: &[&str]) -> u32 {
        let slot = self.next_slot();
        // Every word's term goes to the end of `doc_terms`; sorted, runs of one term are
        // its count, and the distinct terms stay there as the entry's list.
        let start = self.doc_terms.len();
        let mut len = 0u32;
        for field in fields {
            for raw in raw_words(field) {
                let t = self.term_of(raw);
                self.doc_terms.push(t);
                len = len.saturating_add(1);
            }
        }
        let end = self.doc_terms.len();
        self.doc_terms[start..].sort_unstable();
        let mut distinct = start;
        let mut i = start;
        while i < end {
            let t = self.doc_terms[i];
            let mut j = i + 1;
            while j < end && self.doc_terms[j] == t {
                j += 1;
            }
            self.df[t as usize] += 1;
            self.postings[t as usize].push((slot, (j - i) as u32));
            self.doc_terms[distinct] = t;
            distinct += 1;
            i = j;
        }
        self.doc_terms.truncate(distinct);
        self.docs.push(Doc {
            start,
            count: (distinct - start) as u32,
            len,
            live: true,
        });
        self.live += 1;
        self.total_len += u64::from(len);
        slot
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
        let doc = *doc;
        self.live -= 1;
        self.total_len -= u64::from(doc.len);
        for &t in &self.doc_terms[doc.start..doc.start + doc.count as usize] {
            self.df[t as usize] -= 1;
        }
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
                Ok(t) if self.df[t as usize] > 0 => *known.entry(t).or_insert(0) += 1,
                Ok(_) => *unknown.entry(normalise(raw)).or_insert(0) += 1,
                Err(s) => *unknown.entry(s).or_insert(0) += 1,
            }
        }
        let common = (COMMON_SHARE * f64::from(self.live)).max(1.0);
        let mut terms: Vec<(u32, u32)> = known
            .into_iter()
            .filter(|&(t, _)| self.live < 4 || f64::from(self.df[t as usize]) <= common)
            .collect();
        terms.sort_unstable_by_key(|&(t, _)| (self.df[t as usize], t));
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
            .map(|&(t, qtf)| self.idf(self.df[t as usize]) * weight(qtf, qlen))
            .sum::<f64>()
            + unknown_tf
                .iter()
                .map(|&qtf| self.idf(0) * weight(qtf, qlen))
                .sum::<f64>();
        let mut acc = vec![0f64; self.docs.len()];
        let mut touched: Vec<u32> = Vec::new();
        for &(t, _) in &terms {
            let idf = self.idf(self.df[t as usize]);
            for &(slot, tf) in &self.postings[t as usize] {
                let doc = &self.docs[slot as usize];
                if !doc.live {
                    continue;
                }
                let a = &mut acc[slot as usize];
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
        assert_eq!(ix.postings[t], [(a, 1), (b, 3)]);
        assert_eq!(ix.known("ТРУБАМ"), Ok(t as u32));
        assert_eq!(ix.known("газом"), Err("газ".to_string()));
        // An endless word is not remembered, yet read the same way each time.
        let long = "ы".repeat(10_000);
        let c = ix.add(&[&long, &long]);
        assert!(ix.memo.len() <= 5, "{}", ix.memo.len());
        let hits = ix.query(&[&long], 5);
        assert_eq!(hits.first().map(|h| h.0), Some(c), "{hits:?}");
    }
}
