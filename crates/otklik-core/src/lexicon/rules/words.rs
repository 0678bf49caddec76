//! The post's words as the rules see them: each word's stem, the one-word sections it is
//! in and its clause and sentence context; patterns matched at a word.

use super::function_words as fw;
use super::list::{ENDINGS, Item, Kind, Pattern};
use crate::lexicon::normalise::Token;

/// A word of the post with its Snowball stem and the one-word sections it is in, computed
/// once.
pub(super) struct Word<'a> {
    pub(super) token: &'a Token,
    pub(super) stem: String,
    /// Bit `s as u32` set: the word matches a one-word pattern of section [`Sec`] `s`.
    pub(super) flags: u32,
    /// Where the word's clause starts (its first word) and ends (past its last word).
    pub(super) clause: (usize, usize),
    /// A dash stands before this word or before an earlier word of its sentence.
    pub(super) dash_so_far: bool,
    /// The first condition word (`если`, `кто`…) of the sentence before this word: `Some`
    /// with whether it is `кто`.
    pub(super) condition_before: Option<bool>,
    /// `сам`/`сами` stands earlier in this word's clause.
    pub(super) own_before: bool,
    /// Every word after this one to the end of its clause is a filler (`к чертям`).
    pub(super) fillers_after: bool,
    /// The sentence speaks to someone (a 2nd person pronoun or verb form).
    pub(super) second_in_sentence: bool,
    /// The nearest target of harm earlier in the sentence, unless an ordinary object
    /// stands nearer (filled in by the rules, which know what a target is).
    pub(super) named_before: Option<usize>,
    /// An official or an office is named earlier in the sentence.
    pub(super) official_before: bool,
}

/// Fill in each word's clause and sentence context, in two passes over the words.
pub(super) fn context(words: &mut [Word<'_>]) {
    let n = words.len();
    let mut cs = 0;
    let mut dash = false;
    let mut condition: Option<bool> = None;
    let mut own = false;
    for i in 0..n {
        let new_sentence = i == 0 || words[i].token.sentence != words[i - 1].token.sentence;
        if new_sentence {
            dash = false;
            condition = None;
        }
        if new_sentence || words[i].token.clause_start {
            cs = i;
            own = false;
        }
        dash |= words[i].token.after_dash;
        words[i].clause.0 = cs;
        words[i].dash_so_far = dash;
        words[i].condition_before = condition;
        words[i].own_before = own;
        if condition.is_none() && is_any(&words[i], fw::CONDITIONS) {
            condition = Some(words[i].token.text == "кто");
        }
        own |= is_any(&words[i], fw::SELF);
    }
    for i in (0..n).rev() {
        let last_of_sentence = i + 1 == n || words[i + 1].token.sentence != words[i].token.sentence;
        if last_of_sentence || words[i + 1].token.clause_start {
            words[i].clause.1 = i + 1;
            words[i].fillers_after = true;
        } else {
            words[i].clause.1 = words[i + 1].clause.1;
            words[i].fillers_after =
                words[i + 1].fillers_after && is_any(&words[i + 1], fw::FILLERS);
        }
    }
    // The sentence-wide flag: one pass per sentence.
    let mut i = 0;
    while i < n {
        let s = words[i].token.sentence;
        let mut j = i;
        let mut any = false;
        while j < n && words[j].token.sentence == s {
            any |= is_any(&words[j], fw::SECOND_PERSON)
                || fw::second_person_verb(&words[j].token.text);
            j += 1;
        }
        for w in &mut words[i..j] {
            w.second_in_sentence = any;
        }
        i = j;
    }
}

/// The sections the rules ask about word by word.
#[derive(Debug, Clone, Copy)]
pub(super) enum Sec {
    Threat,
    Harm,
    Wish,
    Come,
    Person,
    Property,
    Body,
    Weapon,
    Object,
    Report,
    Noun,
    Adjective,
    Accusation,
    Aimed,
    Organisation,
    Fire,
    Curse,
    Livestock,
    Farm,
}

pub(super) const SECS: [Sec; 19] = [
    Sec::Threat,
    Sec::Harm,
    Sec::Wish,
    Sec::Come,
    Sec::Person,
    Sec::Property,
    Sec::Body,
    Sec::Weapon,
    Sec::Object,
    Sec::Report,
    Sec::Noun,
    Sec::Adjective,
    Sec::Accusation,
    Sec::Aimed,
    Sec::Organisation,
    Sec::Fire,
    Sec::Curse,
    Sec::Livestock,
    Sec::Farm,
];

impl<'a> Word<'a> {
    /// A word of the post with its stem, nothing known of its context yet.
    pub(super) fn new(token: &'a Token, stem: String) -> Word<'a> {
        Word {
            token,
            stem,
            flags: 0,
            clause: (0, 0),
            dash_so_far: false,
            condition_before: None,
            own_before: false,
            fillers_after: false,
            second_in_sentence: false,
            named_before: None,
            official_before: false,
        }
    }
}

impl Word<'_> {
    pub(super) fn is(&self, s: Sec) -> bool {
        self.flags & (1 << s as u32) != 0
    }
}

pub(super) fn item_matches(item: &Item, w: &Word<'_>) -> bool {
    let Item::Word(kind, alts) = item else {
        return true;
    };
    // A hidden letter (`*`) matches no list word; an `@` read as `а` does.
    if w.token.text.contains('*') {
        return false;
    }
    let t = w.token.text.as_str();
    alts.iter().any(|a| match kind {
        Kind::Prefix => t.starts_with(a.as_str()),
        Kind::Exact => t == a,
        Kind::Snowball => w.stem == *a,
        Kind::Inflected => t
            .strip_prefix(a.as_str())
            .is_some_and(|rest| ENDINGS.contains(&rest)),
    })
}

/// The end (exclusive) of a match of `items` starting at word `i`, within `words[..end]`.
pub(super) fn match_at(items: &[Item], words: &[Word<'_>], i: usize, end: usize) -> Option<usize> {
    let Some((first, rest)) = items.split_first() else {
        return Some(i);
    };
    match first {
        Item::Gap => (0..=3)
            .filter(|g| i + g <= end)
            .find_map(|g| match_at(rest, words, i + g, end)),
        item => {
            if i < end && item_matches(item, &words[i]) {
                match_at(rest, words, i + 1, end)
            } else {
                None
            }
        }
    }
}

/// The first pattern of `patterns` matching at word `i` (within `words[..end]`).
pub(super) fn first_at<'p>(
    patterns: &'p [Pattern],
    words: &[Word<'_>],
    i: usize,
    end: usize,
) -> Option<(&'p Pattern, usize)> {
    patterns
        .iter()
        .find_map(|p| match_at(&p.items, words, i, end).map(|e| (p, e)))
}

/// The sentences of the post, each as `start..end` (its first word, past its last), in
/// order: one pass over the words.
pub(super) fn sentences<'s>(words: &'s [Word<'_>]) -> impl Iterator<Item = (usize, usize)> + 's {
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= words.len() {
            return None;
        }
        let s = words[start].token.sentence;
        let end = words[start..]
            .iter()
            .position(|w| w.token.sentence != s)
            .map_or(words.len(), |k| start + k);
        let sentence = (start, end);
        start = end;
        Some(sentence)
    })
}

/// Where the clause of word `i` starts (its first word) and ends (past its last word).
pub(super) fn clause_of(words: &[Word<'_>], i: usize) -> (usize, usize) {
    words[i].clause
}

pub(super) fn is_any(w: &Word<'_>, set: &[&str]) -> bool {
    set.contains(&w.token.text.as_str())
}
