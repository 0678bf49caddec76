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
pub const K1: f64 = 1.2;
/// BM25's length normalisation.
pub const B: f64 = 0.75;
/// A query scores with at most this many distinct stems: the rarest in the archive.
pub const MAX_QUERY_TERMS: usize = 64;
/// A query reads at most this many words of the post.
pub const MAX_QUERY_WORDS: usize = 4096;
/// Stems in more than this share of the entries (prepositions, "the") carry almost no
/// weight; a query skips them rather than walk their long postings.
const COMMON_SHARE: f64 = 0.5;

#[derive(Debug, Clone)]
struct Doc {
    id: String,
    len: u32,
    live: bool,
    /// Its distinct terms, to forget them when the entry is replaced.
    terms: Vec<u32>,
}

/// The index: entry ids by stem, with the counts BM25 needs. Adding is incremental.
#[derive(Debug, Default, Clone)]
pub struct Index {
    /// A lower-cased word → its stem's term number (stemming each word once).
    words: HashMap<String, u32>,
    /// A stem → its term number.
    terms: HashMap<String, u32>,
    /// Per term: how many live entries have it.
    df: Vec<u32>,
    /// Per term: (entry slot, occurrences), in slot order.
    postings: Vec<Vec<(u32, u32)>>,
    docs: Vec<Doc>,
    slot_of: HashMap<String, u32>,
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

    fn term_of_word(&mut self, word: String) -> u32 {
        if let Some(&t) = self.words.get(&word) {
            return t;
        }
        let s = stem::stem(&word);
        let next = self.df.len() as u32;
        let t = *self.terms.entry(s).or_insert(next);
        if t == next {
            self.df.push(0);
            self.postings.push(Vec::new());
        }
        self.words.insert(word, t);
        t
    }

    /// The term of a word if the index knows its stem (`Err(stem)` otherwise).
    fn known(&self, word: &str) -> Result<u32, String> {
        if let Some(&t) = self.words.get(word) {
            return Ok(t);
        }
        let s = stem::stem(word);
        self.terms.get(&s).copied().ok_or(s)
    }

    /// Indexes `text` as entry `id`, replacing what `id` had before.
    pub fn add(&mut self, id: &str, text: &str) {
        self.remove(id);
        let mut counts: HashMap<u32, u32> = HashMap::new();
        let mut len = 0u32;
        for w in stem::words(text) {
            let t = self.term_of_word(w);
            *counts.entry(t).or_insert(0) += 1;
            len = len.saturating_add(1);
        }
        let slot = self.docs.len() as u32;
        let mut terms: Vec<u32> = counts.keys().copied().collect();
        terms.sort_unstable();
        for &t in &terms {
            self.df[t as usize] += 1;
            self.postings[t as usize].push((slot, counts[&t]));
        }
        self.docs.push(Doc {
            id: id.to_string(),
            len,
            live: true,
            terms,
        });
        self.slot_of.insert(id.to_string(), slot);
        self.live += 1;
        self.total_len += u64::from(len);
    }

    /// Forgets entry `id` (its postings are skipped from now on).
    pub fn remove(&mut self, id: &str) {
        let Some(slot) = self.slot_of.remove(id) else {
            return;
        };
        let doc = &mut self.docs[slot as usize];
        doc.live = false;
        self.live -= 1;
        self.total_len -= u64::from(doc.len);
        for &t in &doc.terms {
            self.df[t as usize] -= 1;
        }
        doc.terms = Vec::new();
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

    /// The `k` entries most like `text`, best first, each with its similarity (see the
    /// module's notes); entries sharing no telling stem with it are not listed.
    pub fn query(&self, text: &str, k: usize) -> Vec<(String, f64)> {
        if self.live == 0 || k == 0 {
            return Vec::new();
        }
        // Distinct stems with their counts in the query; unknown stems only count.
        let mut known: HashMap<u32, u32> = HashMap::new();
        let mut unknown: HashMap<String, u32> = HashMap::new();
        let mut qlen = 0u32;
        for w in stem::words(text).take(MAX_QUERY_WORDS) {
            qlen += 1;
            match self.known(&w) {
                Ok(t) if self.df[t as usize] > 0 => *known.entry(t).or_insert(0) += 1,
                Ok(_) => *unknown.entry(w).or_insert(0) += 1,
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
        hits.into_iter()
            .map(|(s, score)| (self.docs[s as usize].id.clone(), score))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_scores_about_one_against_itself() {
        let mut ix = Index::new();
        ix.add("a", "прорвало трубу водопровода на улице Ленина");
        ix.add("b", "яма на дороге у школы");
        ix.add("c", "нет света третий день");
        let hits = ix.query("прорвало трубу водопровода на улице Ленина", 3);
        assert_eq!(hits[0].0, "a");
        assert!(hits[0].1 > 0.95, "{hits:?}");
    }

    #[test]
    fn a_hostile_query_is_cut() {
        let mut ix = Index::new();
        for i in 0..100 {
            ix.add(&i.to_string(), &format!("слово{i} труба"));
        }
        let long: String = (0..100_000)
            .map(|i| format!("слово{} ", i % 1000))
            .collect();
        let hits = ix.query(&long, 3);
        assert!(hits.len() <= 3);
    }

    #[test]
    fn removed_entries_are_not_found() {
        let mut ix = Index::new();
        ix.add("a", "газ");
        ix.add("b", "вода");
        ix.remove("a");
        assert!(ix.query("газ", 3).is_empty());
        assert_eq!(ix.len(), 1);
    }
}
