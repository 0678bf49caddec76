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
//! Pure: the shell keeps the entries in its store and the archive in memory.

pub mod import;
mod index;

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub use crate::related::Similar;
use crate::workflow::{Case, DraftKind};

pub use index::{Index, MAX_QUERY_TERMS};

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
    fn of(entry: &Stored, score: f64) -> Similar {
        Similar {
            id: entry.field(ID).to_string(),
            score,
            topic: entry.field(TOPIC).to_string(),
            location: entry.field(LOCATION).to_string(),
            text: entry.field(TEXT).to_string(),
            answer: entry.field(ANSWER).to_string(),
            date: entry.date,
        }
    }
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

// The strings of a stored entry, in this order.
const ID: usize = 0;
const TOPIC: usize = 1;
const LOCATION: usize = 2;
const TEXT: usize = 3;
const ANSWER: usize = 4;
const EXECUTOR: usize = 5;

/// An entry as the archive keeps it: its strings one after the other in one allocation
/// (one allocation instead of five or six, and no `String` headers: at 100,000 entries
/// this is most of the archive's memory).
#[derive(Debug)]
struct Stored {
    /// Id, topic, location, text, answer and executor (empty when none).
    strings: Box<str>,
    /// Where each string but the last ends in `strings`.
    ends: [usize; 5],
    date: Option<NaiveDate>,
    has_executor: bool,
}

impl Stored {
    fn of(e: &Entry) -> Stored {
        let parts = [
            e.id.as_str(),
            &e.topic,
            &e.location,
            &e.text,
            &e.answer,
            e.executor.as_deref().unwrap_or(""),
        ];
        let mut strings = String::with_capacity(parts.iter().map(|p| p.len()).sum());
        let mut ends = [0; 5];
        for (i, p) in parts.iter().enumerate() {
            strings.push_str(p);
            if let Some(end) = ends.get_mut(i) {
                *end = strings.len();
            }
        }
        Stored {
            strings: strings.into_boxed_str(),
            ends,
            date: e.date,
            has_executor: e.executor.is_some(),
        }
    }

    /// String number `i` ([`ID`], [`TOPIC`]… [`EXECUTOR`]).
    fn field(&self, i: usize) -> &str {
        let start = i
            .checked_sub(1)
            .and_then(|p| self.ends.get(p).copied())
            .unwrap_or(0);
        let end = self.ends.get(i).copied().unwrap_or(self.strings.len());
        self.strings.get(start..end).unwrap_or("")
    }

    fn executor(&self) -> Option<&str> {
        self.has_executor.then(|| self.field(EXECUTOR))
    }

    fn to_entry(&self) -> Entry {
        Entry {
            id: self.field(ID).to_string(),
            topic: self.field(TOPIC).to_string(),
            location: self.field(LOCATION).to_string(),
            text: self.field(TEXT).to_string(),
            answer: self.field(ANSWER).to_string(),
            date: self.date,
            executor: self.executor().map(str::to_string),
        }
    }

    /// Whether it holds exactly `e`.
    fn is(&self, e: &Entry) -> bool {
        self.field(ID) == e.id
            && self.field(TOPIC) == e.topic
            && self.field(LOCATION) == e.location
            && self.field(TEXT) == e.text
            && self.field(ANSWER) == e.answer
            && self.date == e.date
            && self.executor() == e.executor.as_deref()
    }
}

/// The archive: the entries and their index.
#[derive(Debug, Default)]
pub struct Archive {
    /// An id → its entry's slot in `entries` and the index.
    slots: HashMap<String, u32>,
    /// By slot, in the order added; `None` where the entry was replaced since.
    entries: Vec<Option<Stored>>,
    index: Index,
}

impl Archive {
    /// An empty archive.
    pub fn new() -> Archive {
        Archive::default()
    }

    /// How many entries it holds.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    fn stored(&self, slot: u32) -> Option<&Stored> {
        self.entries.get(slot as usize)?.as_ref()
    }

    /// The entry of `id` (a copy: the archive keeps its entries packed).
    pub fn get(&self, id: &str) -> Option<Entry> {
        self.stored(*self.slots.get(id)?).map(Stored::to_entry)
    }

    /// Adds an entry, or replaces the one of the same id (a case approved again).
    /// Replacing with an identical entry changes nothing.
    pub fn add(&mut self, entry: Entry) {
        if let Some(&old) = self.slots.get(&entry.id) {
            if self.stored(old).is_some_and(|s| s.is(&entry)) {
                return;
            }
            self.index.remove(old);
            if let Some(s) = self.entries.get_mut(old as usize) {
                *s = None;
            }
        }
        let slot = self.index.add(&entry.searchable());
        self.entries.push(Some(Stored::of(&entry)));
        // The id moves into the map (an id already there keeps its key, takes the slot).
        self.slots.insert(entry.id, slot);
    }

    /// The `k` entries most like `q`, best first, with their similarity; no threshold.
    pub fn similar(&self, q: &Query, k: usize) -> Vec<Similar> {
        self.index
            .query(&[&q.topic, &q.location, &q.text], k)
            .into_iter()
            .filter_map(|(slot, score)| Some(Similar::of(self.stored(slot)?, score)))
            .collect()
    }

    /// [`Archive::similar`] cut at `threshold`, at most [`MAX_OFFERED`].
    pub fn offered(&self, q: &Query, threshold: f64) -> Vec<Similar> {
        offered(&self.similar(q, MAX_OFFERED), threshold, "")
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
    fn an_entry_comes_back_as_it_was_added() {
        let mut a = Archive::new();
        let mut e = entry("A-1", "", "с. Берёзовка", "течёт");
        e.date = NaiveDate::from_ymd_opt(2025, 4, 15);
        e.executor = Some("zhkh".into());
        let mut f = entry("A-2", "Дороги", "", "");
        f.executor = Some(String::new());
        let g = entry("", "", "", "");
        for x in [&e, &f, &g] {
            a.add(x.clone());
            assert_eq!(a.get(&x.id).as_ref(), Some(x));
        }
        // The same entry again changes nothing; another under the same id replaces it.
        a.add(e.clone());
        let mut e2 = e.clone();
        e2.executor = None;
        a.add(e2.clone());
        assert_eq!(a.get("A-1"), Some(e2));
        assert_eq!(a.len(), 3);
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
