//! Earlier approved answers at hand: the archive of posts and the answers given to them,
//! searched for the posts most like a new one, so the executor writing today's answer sees
//! what the administration answered last spring about the same burst pipe in the same
//! village.
//!
//! - [`Entry`]: one earlier post and its approved answer (imported, or a case of ours).
//! - [`Index`]: BM25 over the Snowball stems ([`crate::stem`]) of topic, location and text.
//! - [`Archive`]: the entries and their index; [`Archive::similar`] is what mails show.
//! - [`import`]: the JSON Lines and CSV files an administration exports its history as.
//!
//! Pure: the shell keeps the entries in its store and the archive (ids and index) in
//! memory.

mod ids;
use ids::Ids;
pub mod import;
mod index;
mod snapshot;

use std::hash::{DefaultHasher, Hash, Hasher};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub use crate::related::Similar;
use crate::workflow::{Case, DraftKind};

pub use index::{Index, MAX_QUERY_TERMS};
pub use snapshot::{FORMAT as SNAPSHOT_FORMAT, SnapshotError};

/// The similarity (see [`Index::query`]) above which an earlier answer is offered, when
/// `archive.threshold` is not set. Chosen on the labelled set in
/// `tests/data/archive/`: at 0.2, 29 of 32 reworded posts find their earlier answer among
/// the three offered and 27 of 32 posts with nothing fitting are offered nothing (0.15:
/// 0.94 and 0.66; 0.25: 0.75 and 0.91).
pub const DEFAULT_THRESHOLD: f64 = crate::config::DEFAULT_ARCHIVE_THRESHOLD;

/// At most this many earlier answers are offered with a case.
pub const MAX_OFFERED: usize = 3;

/// One earlier post and the answer approved for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The imported row's id, or a case id such as `OTK-17`; unique in the archive.
    pub id: String,
    /// The post's topic (rubric), as the monitoring named it.
    pub topic: String,
    /// The post's location: village, street, district.
    pub location: String,
    /// The post's text.
    pub text: String,
    /// The approved answer.
    pub answer: String,
    /// When the post was made (or answered), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<NaiveDate>,
    /// The id of the executor who answered, if known (training examples for routing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor: Option<String>,
}

impl Entry {
    /// What the index reads of an entry: topic, location and text (never the answer,
    /// which a new post cannot resemble yet).
    pub fn searchable(&self) -> [&str; 3] {
        [&self.topic, &self.location, &self.text]
    }

    /// The entry of a case whose answer (or final answer after an interim one) was
    /// approved: the post and that answer, dated by the post's detection in `zone`.
    /// `None` while no answer is approved (an interim answer or a question is no answer).
    pub fn of_case(case: &Case, zone: chrono_tz::Tz) -> Option<Entry> {
        let approved = case.approved.as_ref()?;
        if approved.kind != DraftKind::Answer || approved.text.trim().is_empty() {
            return None;
        }
        let n = &case.notification;
        Some(Entry {
            id: case.id.clone(),
            topic: n.topic.clone().unwrap_or_default(),
            location: n.location.clone().unwrap_or_default(),
            text: n.text.clone(),
            answer: approved.text.clone(),
            date: Some(n.detected_at.with_timezone(&zone).date_naive()),
            executor: case.executor.clone(),
        })
    }
}

/// A new post, as the archive is asked about it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Query {
    /// The post's text.
    pub text: String,
    /// The notification's topic.
    pub topic: String,
    /// The notification's location.
    pub location: String,
}

impl Similar {
    /// The offer of `entry`, whose post scored `score` (the shell reads the entry back
    /// from its store for the few hits a case shows).
    pub fn of(entry: &Entry, score: f64) -> Similar {
        Similar {
            id: entry.id.clone(),
            score,
            topic: entry.topic.clone(),
            location: entry.location.clone(),
            text: entry.text.clone(),
            answer: entry.answer.clone(),
            date: entry.date,
        }
    }
}

/// An entry the index found like a post: its id and how similar (0 to 1, see
/// [`Index::query`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The entry's id (imported id or case id).
    pub id: String,
    /// Similarity of the entry's post to the new one.
    pub score: f64,
}

/// What is offered of the candidates the shell looked up: those scoring at least
/// `threshold`, best first, at most [`MAX_OFFERED`], and never the case itself.
pub fn offered(candidates: &[Similar], threshold: f64, own_id: &str) -> Vec<Similar> {
    let mut v: Vec<Similar> = candidates
        .iter()
        .filter(|s| s.score >= threshold && s.id != own_id)
        .cloned()
        .collect();
    v.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
    v.truncate(MAX_OFFERED);
    v
}

/// The archive: the index, and of each entry only its id and a fingerprint. The posts
/// and answers stay in the shell's store and are read back for the few entries a case
/// shows: at 100,000 entries they would be most of the archive's memory, and real
/// answers run to pages.
#[derive(Debug, Default)]
pub struct Archive {
    ids: Ids,
    /// By slot: the [`fingerprint`] of the entry added there, so that adding the same
    /// entry again changes nothing without keeping the entry.
    prints: Vec<u64>,
    index: Index,
}

/// A hash of everything an entry holds, each string with its length so that no two
/// splits of the same characters hash alike. Unkeyed (std's SipHash with fixed keys), so
/// that a snapshot's fingerprints hold when it is read again; nothing is looked up by
/// them, so nobody gains by choosing entries that collide.
fn fingerprint(e: &Entry) -> u64 {
    let mut h = DefaultHasher::new();
    for s in [&e.id, &e.topic, &e.location, &e.text, &e.answer] {
        s.hash(&mut h);
    }
    e.date.hash(&mut h);
    e.executor.hash(&mut h);
    h.finish()
}

/// The fingerprint of a fixed entry: a snapshot records it, so that one written by a
/// build whose std hashes otherwise is refused rather than misread.
fn fingerprint_probe() -> u64 {
    fingerprint(&Entry {
        id: "OTK-1".into(),
        topic: "ЖКХ".into(),
        location: "с. Берёзовка".into(),
        text: "Прорвало трубу".into(),
        answer: "Починили".into(),
        date: NaiveDate::from_ymd_opt(2026, 12, 7),
        executor: Some("zhkh".into()),
    })
}

impl Archive {
    /// An empty archive.
    pub fn new() -> Archive {
        Archive::default()
    }

    /// How many entries it holds.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The slot of the entry `id`, if the archive holds one.
    pub fn get(&self, id: &str) -> Option<u32> {
        self.ids.slot(id)
    }

    /// Adds an entry, or replaces the one of the same id (a case approved again).
    /// Replacing with an identical entry changes nothing.
    pub fn add(&mut self, entry: Entry) {
        let print = fingerprint(&entry);
        let old = self.ids.slot(&entry.id);
        if let Some(old) = old
            && self.prints.get(old as usize) == Some(&print)
        {
            return;
        }
        if !self.ids.has_room(entry.id.len()) {
            // 4 GiB of ids: no real archive comes near; refused rather than misnumbered.
            return;
        }
        if let Some(old) = old {
            self.index.remove(old);
        }
        let slot = self.index.add(&entry.searchable());
        self.ids.push(&entry.id, slot);
        self.prints.push(print);
    }

    /// Removes the entry `id` (an answer withdrawn); whether there was one.
    pub fn remove(&mut self, id: &str) -> bool {
        let Some(slot) = self.ids.slot(id) else {
            return false;
        };
        self.index.remove(slot);
        self.ids.forget(id);
        true
    }

    /// The `k` entries most like `q`, best first, with their similarity; no threshold.
    pub fn similar(&self, q: &Query, k: usize) -> Vec<Hit> {
        self.index
            .query(&[&q.topic, &q.location, &q.text], k)
            .into_iter()
            .map(|(slot, score)| Hit {
                id: self.ids.of(slot).to_string(),
                score,
            })
            .collect()
    }

    /// [`Archive::similar`] cut at `threshold`, at most [`MAX_OFFERED`].
    pub fn offered(&self, q: &Query, threshold: f64) -> Vec<Hit> {
        let mut hits = self.similar(q, MAX_OFFERED);
        hits.retain(|h| h.score >= threshold);
        hits
    }

    /// Gives back the room kept for growth (once the store is read at start-up).
    pub fn shrink_to_fit(&mut self) {
        self.ids.shrink_to_fit();
        self.prints.shrink_to_fit();
        self.index.shrink_to_fit();
    }
}

/// Training examples for the routing model: `(executor, topic, text)` of every entry that
/// names its executor.
pub fn training_examples<'a>(
    entries: impl IntoIterator<Item = &'a Entry>,
) -> Vec<(String, String, String)> {
    entries
        .into_iter()
        .filter_map(|e| {
            let ex = e.executor.as_deref()?.trim();
            (!ex.is_empty()).then(|| (ex.to_string(), e.topic.clone(), e.text.clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, topic: &str, location: &str, text: &str) -> Entry {
        Entry {
            id: id.into(),
            topic: topic.into(),
            location: location.into(),
            text: text.into(),
            answer: format!("ответ на {id}"),
            date: None,
            executor: None,
        }
    }

    #[test]
    fn the_same_burst_pipe_is_found_and_a_stranger_is_not() {
        let mut a = Archive::new();
        a.add(entry(
            "a1",
            "ЖКХ",
            "с. Берёзовка",
            "Прорвало трубу водопровода на улице Ленина, вода течёт третий день",
        ));
        a.add(entry(
            "a2",
            "Дороги",
            "с. Малиновка",
            "Яма на дороге у школы, машины ломают колёса",
        ));
        a.add(entry(
            "a3",
            "Образование",
            "г. Волчиха",
            "В детском саду нет мест для ребёнка",
        ));
        let q = Query {
            text: "На Ленина опять течёт вода из прорванной трубы".into(),
            topic: "ЖКХ".into(),
            location: "Берёзовка".into(),
        };
        let got = a.offered(&q, DEFAULT_THRESHOLD);
        assert_eq!(got.first().map(|s| s.id.as_str()), Some("a1"), "{got:?}");
        let stranger = Query {
            text: "Когда откроют новый стадион и будут ли там соревнования по футболу".into(),
            topic: "Спорт".into(),
            location: "с. Лебяжье".into(),
        };
        assert!(a.offered(&stranger, DEFAULT_THRESHOLD).is_empty());
    }

    #[test]
    fn replacing_an_entry_forgets_its_old_words() {
        let mut a = Archive::new();
        a.add(entry("OTK-1", "ЖКХ", "с. Берёзовка", "нет света"));
        a.add(entry("x", "Дороги", "с. Малиновка", "яма на дороге"));
        a.add(entry("OTK-1", "Дороги", "с. Лебяжье", "грейдер не приехал"));
        assert_eq!(a.len(), 2);
        let q = Query {
            text: "нет света".into(),
            ..Query::default()
        };
        assert!(
            a.similar(&q, 3)
                .iter()
                .all(|s| s.score == 0.0 || s.id != "OTK-1")
        );
    }

    #[test]
    fn offered_keeps_three_above_the_threshold_and_not_the_case_itself() {
        let s = |id: &str, score: f64| Similar {
            id: id.into(),
            score,
            topic: String::new(),
            location: String::new(),
            text: String::new(),
            answer: String::new(),
            date: None,
        };
        let c = [
            s("a", 0.9),
            s("b", 0.2),
            s("c", 0.5),
            s("OTK-9", 1.0),
            s("d", 0.6),
            s("e", 0.7),
        ];
        let ids: Vec<String> = offered(&c, 0.4, "OTK-9")
            .into_iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(ids, ["a", "e", "d"]);
    }

    #[test]
    fn an_entry_is_held_by_its_id_and_the_same_entry_again_changes_nothing() {
        let mut a = Archive::new();
        let mut e = entry("A-1", "", "с. Берёзовка", "течёт");
        e.date = NaiveDate::from_ymd_opt(2025, 4, 15);
        e.executor = Some("zhkh".into());
        let mut f = entry("A-2", "Дороги", "", "");
        f.executor = Some(String::new());
        let g = entry("", "", "", "");
        for x in [&e, &f, &g] {
            a.add(x.clone());
            assert!(a.get(&x.id).is_some(), "{x:?}");
        }
        assert_eq!(a.get("A-3"), None);
        // The same entry again changes nothing; another under the same id replaces it.
        let slot = a.get("A-1");
        a.add(e.clone());
        assert_eq!(a.get("A-1"), slot);
        let mut e2 = e.clone();
        e2.executor = None;
        a.add(e2.clone());
        assert_ne!(a.get("A-1"), slot);
        assert_eq!(a.len(), 3);
        let q = Query {
            text: "течёт".into(),
            ..Query::default()
        };
        let hits = a.similar(&q, 3);
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!(hits[0].id, "A-1");
    }

    #[test]
    fn ids_keep_their_own_slots() {
        let mut ids = Ids::default();
        ids.push("a", 0);
        ids.push("b", 1);
        ids.push("a", 2);
        assert_eq!(ids.slot("a"), Some(2));
        assert_eq!(ids.slot("b"), Some(1));
        assert_eq!(ids.slot("c"), None);
        assert_eq!(
            (ids.of(0), ids.of(1), ids.of(2), ids.of(3)),
            ("a", "b", "a", "")
        );
        assert_eq!(ids.len(), 2);
        ids.forget("a");
        assert_eq!(ids.slot("b"), Some(1));
        assert_eq!(ids.slot("a"), None);
        assert_eq!(ids.len(), 1);
    }

    #[test]
    fn a_removed_entry_is_not_found_and_can_come_back() {
        let mut a = Archive::new();
        a.add(entry("A-1", "", "", "течёт труба"));
        a.add(entry("A-2", "", "", "яма"));
        assert!(a.remove("A-1"));
        assert!(!a.remove("A-1"));
        assert_eq!((a.len(), a.get("A-1")), (1, None));
        let q = Query {
            text: "труба".into(),
            ..Query::default()
        };
        assert!(a.similar(&q, 3).is_empty());
        a.add(entry("A-1", "", "", "течёт труба"));
        assert_eq!(a.similar(&q, 3)[0].id, "A-1");
    }

    #[test]
    fn training_examples_are_the_rows_with_an_executor() {
        let mut e = entry("1", "ЖКХ", "", "труба");
        e.executor = Some("zhkh".into());
        let f = entry("2", "Дороги", "", "яма");
        assert_eq!(
            training_examples([&e, &f]),
            [("zhkh".to_string(), "ЖКХ".to_string(), "труба".to_string())]
        );
    }
}
