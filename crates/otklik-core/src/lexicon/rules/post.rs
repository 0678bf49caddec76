//! The rules that read more than a window around one word: what each word has before it
//! in its sentence (read in one pass), a harm verb said as a sentence of its own, and a
//! fire hinted at an official's property across two sentences.

use super::function_words as fw;
use super::words::{Sec, Word, is_any, sentences};
use super::{Builtin, span};

impl Builtin {
    /// What each word has before it in its sentence, in one pass (so that asking costs
    /// nothing, however long the sentence): the nearest target of harm unless an ordinary
    /// object is nearer, and whether an official or an office was named.
    pub(super) fn looking_back(&self, words: &mut [Word<'_>]) {
        let mut named = Vec::with_capacity(words.len());
        let mut official = Vec::with_capacity(words.len());
        let (mut start, mut near, mut seen) = (0, None, false);
        for k in 0..words.len() {
            if k == 0 || words[k].token.sentence != words[k - 1].token.sentence {
                (start, near, seen) = (k, None, false);
            }
            named.push(near);
            official.push(seen);
            if words[k].is(Sec::Object) {
                near = None;
            } else if self.is_target(words, k, start) && !super::source(words, k, start) {
                near = Some(k);
            }
            seen |= (words[k].is(Sec::Person) || words[k].is(Sec::Organisation))
                && !is_any(&words[k], fw::SECOND_PERSON)
                && !is_any(&words[k], fw::THIRD_PERSON);
        }
        for ((w, n), o) in words.iter_mut().zip(named).zip(official) {
            w.named_before = n;
            w.official_before = o;
        }
    }

    /// The target named earlier in the sentence, in another clause, of a set phrase or a
    /// harm verb at `i` (`встретим чиновника из отдела — мало не покажется`); none when an
    /// ordinary object is nearer (`тополь у школы долго не проживёт`).
    pub(super) fn named_before(&self, words: &[Word<'_>], i: usize) -> Option<usize> {
        words[i].named_before
    }

    /// A curse: `чтоб` or `чтобы`, the one cursed right after it (`тебе`, `вас`…), and a
    /// curse word later in the sentence, not after `не` (`чтоб вас всех паралич разбил`,
    /// `чтоб вам самим в нетопленой избе околеть`; not `чтобы вам не околеть зимой`), unless
    /// someone else's words are reported before it (`соседка кричала, чтоб вы сдохли`).
    pub(super) fn curse(&self, words: &[Word<'_>]) -> Option<String> {
        const CURSED: &[&str] = &["тебе", "тебя", "ты", "вам", "вас", "вы"];
        // Whether someone else's words were reported earlier in the sentence, kept as the
        // words go by (not looked for back from each `чтоб`: linear in the post).
        let mut reported = false;
        for (i, w) in words.iter().enumerate() {
            if i == 0 || words[i - 1].token.sentence != w.token.sentence {
                reported = false;
            }
            let before = reported;
            reported |= w.is(Sec::Report);
            if w.token.quoted || !matches!(w.token.text.as_str(), "чтоб" | "чтобы") {
                continue;
            }
            let same = |k: &usize| words[*k].token.sentence == w.token.sentence;
            let Some(j) = (i + 1..(i + 4).min(words.len()))
                .take_while(same)
                .find(|&k| CURSED.contains(&words[k].token.text.as_str()))
            else {
                continue;
            };
            if before {
                continue;
            }
            if let Some(k) = (j + 1..(j + 12).min(words.len()))
                .take_while(same)
                .find(|&k| words[k].is(Sec::Curse) && words[k - 1].token.text != "не")
            {
                return Some(format!("проклятие: {}", span(words, i, k + 1)));
            }
        }
        None
    }

    /// `ты у меня` or `вы у меня` with a verb said to the one spoken to in the same
    /// sentence: what the writer will make of them (`ты у меня до райцентра не доедешь`,
    /// `сдохнете вы у меня`), unless asked (`вы у меня спрашиваете…`) or reported.
    pub(super) fn at_my_hands(&self, words: &[Word<'_>]) -> Option<String> {
        // Sentence by sentence, each read a bounded number of times: linear in the post
        // however many times `ты у меня` is repeated.
        sentences(words).find_map(|(start, end)| at_my_hands_in(words, start, end))
    }

    /// A harm verb said as a sentence of its own, the one harmed named in the next
    /// (`ЗАКОПАЮ. Тебя, глава.`).
    pub(super) fn lone_threat(&self, words: &[Word<'_>]) -> Option<String> {
        for (i, w) in words.iter().enumerate() {
            let alone = (i == 0 || words[i - 1].token.sentence != w.token.sentence)
                && words
                    .get(i + 1)
                    .is_some_and(|n| n.token.sentence != w.token.sentence);
            // A post that is nothing but the verb (`Сожгу.`), or a sentence of it alone (but
            // for `к чертям`) closing a post that speaks to someone (`Будешь, Петрович,
            // пешком ходить. Сожжём к чертям`).
            let opens = i == 0 || words[i - 1].token.sentence != w.token.sentence;
            let closing = opens
                && w.fillers_after
                && w.clause.1 == words.len()
                && i > 0
                && words[..i]
                    .iter()
                    .any(|p| is_any(p, fw::SECOND_PERSON) || fw::second_person_verb(&p.token.text));
            if (words.len() == 1 || closing)
                && (w.is(Sec::Harm) || w.is(Sec::Threat))
                && !w.token.quoted
            {
                return Some(format!("угроза: {}", w.token.text));
            }
            if alone
                && (w.is(Sec::Harm) || w.is(Sec::Threat))
                && !w.token.quoted
                && let Some(n) = words.get(i + 1)
                && (is_any(n, fw::SECOND_PERSON) || n.is(Sec::Person))
                && !is_any(n, fw::THIRD_PERSON)
            {
                return Some(format!("угроза: {} {}", w.token.text, n.token.text));
            }
        }
        None
    }

    /// A fire hinted at, with no harm verb: an official, their property and the means or the
    /// promise of fire within two sentences, none of it reported (`у заведующей дом
    /// деревянный, а спички нынче дешёвые`, `хорошая у главы машина. Жалко будет, если
    /// сгорит`).
    pub(super) fn veiled_fire(&self, words: &[Word<'_>]) -> Option<String> {
        // Not children playing near (`канистры под окнами, рядом дети играют`).
        let official = |w: &Word<'_>| {
            w.is(Sec::Person)
                && !is_any(w, fw::THIRD_PERSON)
                && !w.token.quoted
                && !matches!(
                    w.token.text.as_str(),
                    "дети" | "детей" | "ребенок" | "ребята"
                )
        };
        let fire = words
            .iter()
            .position(|w| w.is(Sec::Fire) && !w.token.quoted)?;
        let s = words[fire].token.sentence;
        let near = |w: &Word<'_>| w.token.sentence + 1 >= s && w.token.sentence <= s;
        let near_words = || words.iter().filter(|w| near(w));
        if near_words().any(|w| w.is(Sec::Report))
            || (fire > 0 && words[fire - 1].token.text == "не")
            // Fuel paid for (`бензин за свой счёт`, `денег на бензин нет`).
            || words.get(fire + 1).is_some_and(|w| w.token.text == "за")
            || (fire > 0 && words[fire - 1].token.text == "на")
            // A worry about who will come (`если ночью загорится, кто поедет?`).
            || words[fire..]
                .iter()
                .take_while(|w| w.token.sentence == s)
                .any(|w| w.token.text == "кто")
        {
            return None;
        }
        let person = near_words().find(|w| official(w))?;
        let property = near_words().find(|w| w.is(Sec::Property))?;
        Some(format!(
            "угроза: {} … {} … {}",
            person.token.text, property.token.text, words[fire].token.text
        ))
    }
}

/// [`Builtin::at_my_hands`] in the sentence `words[start..end]`: its first `ты у меня`
/// before anything reported, and a verb said to the one spoken to anywhere else in it.
fn at_my_hands_in(words: &[Word<'_>], start: usize, end: usize) -> Option<String> {
    const ASKED: &[&str] = &["спрашива", "проси", "интересу", "узна", "бер", "займ"];
    let text = |k: usize| words[k].token.text.as_str();
    let i = (start..end)
        .take_while(|&k| !words[k].is(Sec::Report))
        .find(|&k| {
            !words[k].token.quoted
                && matches!(text(k), "ты" | "вы")
                && k + 2 < end
                && text(k + 1) == "у"
                && text(k + 2) == "меня"
        })?;
    let k = (start..end).filter(|&k| k < i || k > i + 2).find(|&k| {
        fw::second_person_verb(text(k)) && !ASKED.iter().any(|a| text(k).starts_with(a))
    })?;
    let (a, b) = (i.min(k), (i + 2).max(k));
    Some(format!("угроза: {}", span(words, a, b + 1)))
}
