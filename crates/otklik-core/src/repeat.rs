//! Possible repeats by another author (clause 10): a new post about the same problem at the
//! same place as an earlier case within `intake.repeat_window`, written by someone else. The
//! author rule (same author, same topic) links such posts by itself; this one only flags the
//! earlier case to the coordinator, who links it with one click (`ПОВТОР OTK-17`) or not.
//!
//! "Same problem at the same place": the same place ([`place_key`]: the location's words,
//! settlement-type words such as «с.», «село», «ул.» left out) and a [`similarity`] of the
//! two texts of at least [`THRESHOLD`]: the cosine of their sets of word stems, without the
//! place's own words and the words every complaint has («жители», «когда», «уже»). The
//! threshold and the figures are in docs/judgment.md. Pure; linear in the texts' length.

use std::collections::HashSet;
use std::sync::LazyLock;

use crate::config::Config;
use crate::intake::Notification;
pub use crate::related::PossibleRepeat;
use crate::stem;
use crate::workflow::{Case, State};

/// The least [`similarity`] of two texts at the same place for the later post to be
/// flagged as a possible repeat (chosen on the tuning half of the labelled pairs in
/// `tests/data/repeat/`, see docs/judgment.md).
pub const THRESHOLD: f64 = 0.3;

/// The most earlier cases at one place the shell looks up for a new post (newest first).
pub const MAX_CANDIDATES: usize = 20;

/// How many words of a text are compared: a post longer than this is cut (linear cost,
/// bounded sets).
pub const MAX_WORDS: usize = 2000;

/// Words that name a kind of settlement or street, not a place: «с. Берёзовка» and «село
/// Березовка» are one place.
const PLACE_KIND: &[&str] = &[
    "с",
    "село",
    "д",
    "дер",
    "деревня",
    "п",
    "пос",
    "посёлок",
    "поселок",
    "пгт",
    "рп",
    "г",
    "город",
    "ст",
    "станица",
    "х",
    "хутор",
    "аул",
    "мкр",
    "микрорайон",
    "р",
    "н",
    "район",
    "ул",
    "улица",
    "пер",
    "переулок",
    "пр",
    "просп",
    "проспект",
    "пл",
    "площадь",
    "сельсовет",
    "мо",
    "сп",
    "поселение",
    "округ",
    "муниципальный",
    "сельское",
    "городское",
];

/// Words every complaint about a place has: they say nothing about which problem it is.
const COMMON: &[&str] = &[
    "и",
    "в",
    "во",
    "на",
    "не",
    "ни",
    "нет",
    "что",
    "как",
    "когда",
    "где",
    "уже",
    "ещё",
    "еще",
    "опять",
    "снова",
    "это",
    "этот",
    "эта",
    "эти",
    "там",
    "тут",
    "здесь",
    "мы",
    "нас",
    "нам",
    "наш",
    "наша",
    "наши",
    "вы",
    "вас",
    "вам",
    "ваш",
    "они",
    "их",
    "им",
    "он",
    "она",
    "оно",
    "его",
    "её",
    "ее",
    "я",
    "меня",
    "мне",
    "у",
    "к",
    "ко",
    "с",
    "со",
    "из",
    "за",
    "по",
    "от",
    "до",
    "для",
    "о",
    "об",
    "про",
    "при",
    "без",
    "над",
    "под",
    "а",
    "но",
    "или",
    "да",
    "же",
    "ли",
    "бы",
    "то",
    "так",
    "все",
    "всё",
    "весь",
    "вся",
    "всех",
    "очень",
    "только",
    "даже",
    "был",
    "была",
    "было",
    "были",
    "будет",
    "есть",
    "быть",
    "может",
    "можно",
    "нужно",
    "надо",
    "сколько",
    "можно",
    "почему",
    "кто",
    "чем",
    "чтобы",
    "который",
    "которая",
    "которые",
    "уважаемые",
    "уважаемая",
    "уважаемый",
    "здравствуйте",
    "добрый",
    "день",
    "дня",
    "дней",
    "неделю",
    "недели",
    "неделя",
    "месяц",
    "месяца",
    "месяцев",
    "год",
    "года",
    "лет",
    "жители",
    "жителей",
    "житель",
    "люди",
    "администрация",
    "администрации",
    "глава",
    "главы",
    "просим",
    "прошу",
    "помогите",
    "помочь",
    "пожалуйста",
    "сделайте",
    "примите",
    "меры",
    "мер",
    "вопрос",
    "проблема",
    "проблему",
    "проблемы",
    "ситуация",
    "сколько",
    "можно",
    "ответ",
    "ответа",
    "ответьте",
    "обращались",
    "писали",
    "пишем",
    "пишу",
    "обращение",
    "жалоба",
    "жалобу",
    "улице",
    "улицы",
    "улицу",
    "села",
    "селе",
    "деревне",
    "поселке",
    "посёлке",
    "городе",
    "районе",
    "дом",
    "дома",
    "доме",
    "возле",
    "около",
    "рядом",
    "напротив",
    "центр",
    "центре",
];

static COMMON_STEMS: LazyLock<HashSet<String>> =
    LazyLock::new(|| COMMON.iter().map(|w| stem::stem(w)).collect());

/// The place as compared: the location's words, lower-cased, `ё` as `е`, without
/// settlement-type words, in order, joined by single spaces. Empty: no place to compare
/// (then nothing is flagged).
pub fn place_key(location: &str) -> String {
    stem::words(location)
        .take(32)
        .filter(|w| !PLACE_KIND.contains(&w.as_str()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The stems a text is compared by: its words' stems without those of the place and the
/// common words of complaints, and without one-letter stems.
fn content(text: &str, place: &HashSet<String>) -> Vec<(String, String)> {
    let mut seen = HashSet::new();
    stem::words(text)
        .take(MAX_WORDS)
        .map(|w| (stem::stem(&w), w))
        .filter(|(s, _)| s.chars().count() > 1 || s.chars().all(|c| c.is_ascii_digit()))
        .filter(|(s, _)| !COMMON_STEMS.contains(s) && !place.contains(s))
        .filter(|(s, _)| seen.insert(s.clone()))
        .collect()
}

fn place_stems(location: &str) -> HashSet<String> {
    stem::words(location)
        .take(32)
        .map(|w| stem::stem(&w))
        .collect()
}

/// How alike two posts about one place are, 0 to 1: the cosine of their sets of content
/// stems (the place's own words and the common words of complaints left out), with the
/// words of `a` whose stems `b` shares, as `a` first writes them, in its order.
pub fn similarity_with_shared(a: &str, b: &str, location: &str) -> (f64, Vec<String>) {
    let place = place_stems(location);
    let wa = content(a, &place);
    let sb: HashSet<String> = content(b, &place).into_iter().map(|(s, _)| s).collect();
    if wa.is_empty() || sb.is_empty() {
        return (0.0, Vec::new());
    }
    let shared: Vec<String> = wa
        .iter()
        .filter(|(s, _)| sb.contains(s))
        .map(|(_, w)| w.clone())
        .collect();
    let score = shared.len() as f64 / ((wa.len() * sb.len()) as f64).sqrt();
    (score, shared)
}

/// How alike two posts about one place are, 0 to 1 (see [`similarity_with_shared`]).
pub fn similarity(a: &str, b: &str, location: &str) -> f64 {
    similarity_with_shared(a, b, location).0
}

fn norm(s: &str) -> String {
    s.trim().to_lowercase().replace('ё', "е")
}

/// The earlier case the notification `n` may repeat, among `candidates` (earlier cases at
/// the same place, as the shell found them): by another author, detected before `n`
/// within `intake.repeat_window`, not excluded, not the case itself (`own`), the most
/// similar at or above [`THRESHOLD`] (the newest of equals).
pub fn possible_repeat(
    config: &Config,
    n: &Notification,
    candidates: &[Case],
    own: &str,
) -> Option<PossibleRepeat> {
    let location = n.location.as_deref().unwrap_or("");
    let key = place_key(location);
    if key.is_empty() {
        return None;
    }
    let author = n.author.as_deref().map(norm).filter(|a| !a.is_empty());
    let mut best: Option<(f64, Vec<String>, &Case)> = None;
    for c in candidates.iter().take(MAX_CANDIDATES) {
        let earlier = &c.notification;
        let same_author = author.is_some()
            && earlier
                .author
                .as_deref()
                .map(norm)
                .filter(|a| !a.is_empty())
                == author;
        if c.id == own
            || same_author
            || c.state == State::Excluded
            || place_key(earlier.location.as_deref().unwrap_or("")) != key
            || !crate::workflow::within_repeat_window(config, c, n)
        {
            continue;
        }
        let (score, shared) = similarity_with_shared(&n.text, &earlier.text, location);
        if score < THRESHOLD {
            continue;
        }
        let better = match &best {
            None => true,
            Some((s, _, b)) => score > *s || (score == *s && c.number > b.number),
        };
        if better {
            best = Some((score, shared, c));
        }
    }
    best.map(|(score, shared, c)| PossibleRepeat {
        of: c.id.clone(),
        number: c.number,
        percent: (score * 100.0).round().clamp(0.0, 100.0) as u8,
        shared: shared.into_iter().take(8).collect(),
        executor: c.executor.clone(),
        earlier_answer: c.approved.as_ref().map(|d| d.text.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn place_ignores_settlement_kind_and_case() {
        assert_eq!(place_key("с. Берёзовка"), place_key("село Березовка"));
        assert_eq!(place_key("Березовка, ул. Ленина"), "березовка ленина");
        assert_ne!(place_key("с. Берёзовка"), place_key("с. Волчиха"));
        assert_eq!(place_key("с."), "");
    }

    #[test]
    fn same_problem_scores_above_a_different_one() {
        let loc = "с. Берёзовка";
        let a = "В Берёзовке опять прорвало трубу водопровода, вода течёт по улице";
        let b = "Третий день из трубы течёт вода, водопровод не чинят";
        let c = "В Берёзовке не горят фонари на улице, темно";
        assert!(
            similarity(a, b, loc) >= THRESHOLD,
            "{}",
            similarity(a, b, loc)
        );
        assert!(
            similarity(a, c, loc) < THRESHOLD,
            "{}",
            similarity(a, c, loc)
        );
        assert_eq!(similarity("", b, loc), 0.0);
    }

    #[test]
    fn a_hostile_text_costs_linear_time() {
        let long = "труба ".repeat(200_000);
        let s = similarity(&long, "труба", "с. Берёзовка");
        assert!(s > 0.0);
    }
}
