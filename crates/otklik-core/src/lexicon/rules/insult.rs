//! Insults aimed at a person: who the insulting word is said of (an official named before
//! it, `ты`/`вы`, a dash, a comparison), not words about a situation or animals.

use super::function_words as fw;
use super::words::{Sec, Word, clause_of, first_at, is_any};
use super::{Builtin, span};

/// How many words before an insult after a dash a verb that takes it as its object is
/// looked for (`— купить корову`, `— надо бы срочно купить корову`).
const VERB_BEFORE: usize = 4;

/// `эти`, `эта`, `этот` opening an apposition (`чиновники, эти гниды`).
const DEMONSTRATIVE_PLURAL: &[&str] = &["эти", "эта", "этот"];

impl Builtin {
    /// Is the word at `i` said of an official named just before it: right before (`чинуши-
    /// кровососы`), across `у нас` or a dash (`фельдшер у нас алкаш`), or as who sits in an
    /// office (`в отделе опеки сидят гадюки`, `в поссовете сидят одни олени`)?
    fn said_of_official(&self, words: &[Word<'_>], i: usize, start: usize) -> bool {
        let official = |k: usize| {
            (words[k].is(Sec::Person) || words[k].is(Sec::Organisation))
                && !is_any(&words[k], fw::SECOND_PERSON)
                && !is_any(&words[k], fw::THIRD_PERSON)
        };
        // Between them, besides the words of [`fw::BETWEEN`], up to two words that say
        // which official (`заведующая садиком даун`, `директор дк шизик`, `чиновник из
        // минстроя — нуб`): no verb, no preposition but `из`, nothing that opens a clause
        // but a dash.
        let which = |j: usize| {
            let t = words[j].token.text.as_str();
            !fw::verb_or_infinitive(t)
                && !fw::second_person_verb(t)
                && (t == "из" || !is_any(&words[j], fw::PREPOSITIONS))
                && !matches!(t, "и" | "а" | "но" | "что" | "как" | "не" | "или" | "же")
                && (!words[j].token.clause_start || words[j].token.after_dash)
        };
        let mut k = i;
        let mut said = 0;
        while k > start {
            k -= 1;
            if official(k) {
                // Not the object of a verb after it (`детям молоко нужно — корову держать`).
                let object = said > 0
                    && words.get(i + 1).is_some_and(|w| {
                        fw::verb_or_infinitive(&w.token.text) && !w.token.clause_start
                    });
                return if k + 1 == i {
                    !words[i].token.clause_start
                } else {
                    !object && (!words[k + 1].token.clause_start || words[k + 1].token.after_dash)
                };
            }
            if is_any(&words[k], fw::BETWEEN) {
                continue;
            }
            said += 1;
            if said > 2 || !which(k) {
                break;
            }
        }
        // `сидят (одни) W` after an office named earlier in the sentence.
        let sits = (i > start + 1)
            && (is_any(&words[i - 1], fw::SITTING)
                || (words[i - 1].token.text == "одни" && is_any(&words[i - 2], fw::SITTING)));
        sits && words[i].official_before
    }

    /// Is the insult at `i` (an accusation or an [aimed] word) said of someone?
    pub(super) fn aimed_insult(
        &self,
        words: &[Word<'_>],
        i: usize,
        start: usize,
        end: usize,
    ) -> bool {
        let (cs, ce) = clause_of(words, i);
        let next = (i + 1 < ce).then(|| &words[i + 1]);
        // In a clause opened by a dash, as what someone is (`глава — старый козёл`,
        // `— продажная шкура и свинья`), not its subject (`— собаки бегают`).
        // Not the object of a verb around it (`— купить корову?`, `— корову держать надо`),
        // looked for a few words back, not to the clause's start: a hostile clause may be
        // endless, and each of its words would read it all again.
        let verb = |w: &Word<'_>| fw::verb_or_infinitive(&w.token.text);
        let predicate = words[cs].token.after_dash
            && !next.is_some_and(verb)
            && !(cs.max(i.saturating_sub(VERB_BEFORE))..i).any(|k| verb(&words[k]));
        // With `ты`/`вы` as what they are (`ты тупица`, `свиньи вы`), not as the object
        // of a verb that follows (`вы крыс в подвале потравите?`).
        let verb_follows = (i + 1..(i + 7).min(ce)).any(|k| {
            let t = &words[k].token.text;
            fw::verb_like(t) || fw::second_person_verb(t) || fw::imperative_like(t)
        });
        let second = ((i.saturating_sub(3).max(start)..i)
            .any(|k| matches!(words[k].token.text.as_str(), "ты" | "вы"))
            && !verb_follows)
            || next.is_some_and(|w| matches!(w.token.text.as_str(), "ты" | "вы"));
        // Called out: the word alone in its clause, followed by the address itself
        // (`шакалы, наживаетесь…`, `бараны, вы…`) or closing a sentence that speaks to
        // someone (`верните деньги, козлы!`), not one of a list (`крысы, тараканы — …`).
        let after = (ce < end).then(|| &words[ce]);
        let vocative = words[i].token.clause_start
            && ce == i + 1
            && match after {
                Some(w) => is_any(w, fw::SECOND_PERSON) || fw::second_person_verb(&w.token.text),
                None => i > start && words[i].second_in_sentence,
            };
        // With an insulting adjective before or after it (`тупая корова`, `жаба мерзкая`,
        // `пень трухлявый`).
        let adjective = (i > start && words[i - 1].is(Sec::Adjective))
            || next.is_some_and(|w| w.is(Sec::Adjective));
        let compared = compared(words, i, start);
        let from =
            |k: usize| k < end && (words[k].is(Sec::Organisation) || words[k].is(Sec::Person));
        let of_office = next.is_some_and(|w| w.is(Sec::Organisation))
            || (next.is_some_and(|w| w.token.text == "из") && (from(i + 2) || from(i + 3)));
        let paired = i + 2 < end
            && words[i + 1].token.text == "и"
            && (words[i + 2].is(Sec::Accusation)
                || words[i + 2].is(Sec::Noun)
                || words[i + 2].is(Sec::Aimed));
        // Pointed at an official or an office: `козёл этот начальник`, `жаба эта из
        // отдела кадров`, `психопатка-завуч`, `скоты в администрации`, `свиньи, а не
        // депутаты`.
        let official = |k: usize| {
            k < end
                && (words[k].is(Sec::Person) || words[k].is(Sec::Organisation))
                && !is_any(&words[k], fw::SECOND_PERSON)
        };
        let pointed = next.is_some_and(|w| is_any(w, fw::DEMONSTRATIVES))
            && (official(i + 2) || official(i + 3) || from(i + 2) || from(i + 3));
        let possessive = |k: usize| possessive_word(&words[k]);
        let apposed = official(i + 1) && !words[i + 1].token.clause_start && !possessive(i + 1);
        let in_office = (next.is_some_and(|w| w.token.text == "в") && official(i + 2))
            // `скоты сидят в администрации`
            || (next.is_some_and(|w| is_any(w, fw::SITTING))
                && words.get(i + 2).is_some_and(|w| w.token.text == "в")
                && (official(i + 3) || official(i + 4)));
        // `не чиновники, а упыри`
        let instead = i >= start + 3
            && words[i - 1].token.text == "а"
            && words[i - 3].token.text == "не"
            && official(i - 2);
        let rather_than = i + 3 < end
            && words[i + 1].token.text == "а"
            && words[i + 2].token.text == "не"
            && official(i + 3);
        let called = called_out(words, i, start, end);
        // In apposition to the one spoken to (`вас, дармоедов, надо гнать`, `я вам,
        // жулики, устрою`).
        let to_you = words[i].token.clause_start
            && i > start
            && is_any(&words[i - 1], fw::SECOND_PERSON)
            && ce <= i + 2;
        predicate
            || second
            || vocative
            || adjective
            || compared
            || of_office
            || paired
            || pointed
            || apposed
            || in_office
            || rather_than
            || instead
            || called
            || to_you
    }

    pub(super) fn insult(
        &self,
        words: &[Word<'_>],
        start: usize,
        own_end: usize,
        end: usize,
    ) -> Option<String> {
        // `не держите нас за идиотов`, not `глава у нас мразь`.
        let first_person = |i: usize| {
            (i.saturating_sub(3).max(start)..i).any(|k| {
                is_any(&words[k], fw::FIRST_PERSON)
                    // `я вам, уроды, устрою` is said to them.
                    && !(k + 1..i).any(|j| is_any(&words[j], fw::SECOND_PERSON))
                    && !(k > start && matches!(words[k - 1].token.text.as_str(), "у" | "при"))
                    // `ведёт себя как крыса` is said of the one who behaves so.
                    && !(k > start
                        && words[k].token.text == "себя"
                        && (words[k - 1].token.text.starts_with("вед")
                            || words[k - 1].token.text.starts_with("вел")))
            })
        };
        // Farm animals in a sentence about farming are animals (`поголовье скота`, `с
        // одной коровой на выставку`), whoever is named in it: `глава — баран, а к ферме
        // дороги нет` is let through (the set phrases still hold: `депутаты как бараны`).
        let farming = (start..end).any(|k| words[k].is(Sec::Farm));
        for i in start..own_end {
            let w = &words[i].token.text;
            if words[i].token.quoted {
                continue;
            }
            // A comparison or a set phrase about officials (`чинуши как тараканы`,
            // `водители хуже собак`, `в администрации сидят одни скоты`).
            if let Some((_, e)) = first_at(self.insults.section("phrase"), words, i, end)
                && words[i].official_before
                && !first_person(i)
            {
                return Some(format!("оскорбление: {}", span(words, i, e)));
            }
            // A set phrase said only of people, wherever it stands (`мозгов как у курицы`,
            // `дура набитая`, `тупой как пробка`).
            if let Some((_, e)) = first_at(self.insults.section("anywhere"), words, i, end)
                && !first_person(i)
            {
                return Some(format!("оскорбление: {}", span(words, i, e)));
            }
            if farming && words[i].is(Sec::Livestock) {
                continue;
            }
            let insulting =
                words[i].is(Sec::Noun) || words[i].is(Sec::Aimed) || words[i].is(Sec::Accusation);
            // Who they are, said of an official just named (`фельдшер у нас алкаш`,
            // `чинуши-кровососы`, `депутат-ворюга`, `в отделе сидят гадюки`).
            if insulting && !first_person(i) && self.said_of_official(words, i, start) {
                return Some(format!("оскорбление: {w}"));
            }
            if words[i].is(Sec::Noun) && !first_person(i) {
                return Some(format!("оскорбление: {w}"));
            }
            // Before the one insulted, in the same clause (`идиотская ситуация, дети без
            // присмотра` says nothing of the children).
            if words[i].is(Sec::Adjective)
                && let Some(k) = (i + 1..(i + 3).min(end))
                    .take_while(|&k| !words[k].token.clause_start)
                    .find(|&k| {
                        words[k].is(Sec::Person)
                            || words[k].is(Sec::Aimed)
                            // A name (`бездарная и лживая Хохлова`).
                            || (words[k].token.capital
                                && !is_any(&words[k - 1], fw::PREPOSITIONS)
                                && words[k].token.text.chars().count() > 2)
                    })
                // A noun between is what the adjective is said of (`бессовестная работа
                // подрядчика`); an adjective, `и` or `эта` between is not
                // (`жирная наша глава`, `тупая эта курица`).
                && (k == i + 1 || adjectival(&words[i + 1]))
            {
                return Some(format!("оскорбление: {}", span(words, i, k + 1)));
            }
            // After the one insulted, as it is said of him (`чинуша проклятый`).
            if words[i].is(Sec::Adjective)
                && i > start
                && words[i - 1].is(Sec::Person)
                && !is_any(&words[i - 1], fw::SECOND_PERSON)
                && !is_any(&words[i - 1], fw::THIRD_PERSON)
                && !words[i].token.clause_start
            {
                return Some(format!("оскорбление: {}", span(words, i - 1, i + 1)));
            }
            if (words[i].is(Sec::Accusation) || words[i].is(Sec::Aimed))
                && !first_person(i)
                && self.aimed_insult(words, i, start, end)
            {
                return Some(format!("оскорбление: {w}"));
            }
        }
        None
    }
}

/// Is the word a possessive (`его`, `её`, `их`): `бабка его бегала по селу` is his
/// grandmother, not someone called a бабка.
fn possessive_word(w: &Word<'_>) -> bool {
    matches!(w.token.text.as_str(), "его" | "ее" | "их")
}

/// Can the word stand between an adjective and the noun it is said of: another adjective
/// (by its ending), `и`, or a demonstrative?
fn adjectival(w: &Word<'_>) -> bool {
    w.is(Sec::Adjective)
        || w.token.text == "и"
        || is_any(w, fw::DEMONSTRATIVES)
        || fw::adjective_like(&w.token.text)
}

/// Is the insult at `i` compared with an official named before (`ведёт себя как последняя
/// крыса`, `глава у нас как пиявка`), pointed at (`чиновники, эти гниды`) or set against
/// people (`сидят не люди, а упыри`)?
fn compared(words: &[Word<'_>], i: usize, start: usize) -> bool {
    let prev = |d: usize| (i >= start + d).then(|| words[i - d].token.text.as_str());
    words[i].official_before
        && (prev(1) == Some("как")
            || (prev(2) == Some("как")
                && (words[i - 1].is(Sec::Adjective)
                    || matches!(
                        prev(1),
                        Some("последняя" | "последний" | "настоящая" | "настоящий")
                    )))
            || (prev(1).is_some_and(|w| DEMONSTRATIVE_PLURAL.contains(&w))
                && words[i - 1].token.clause_start)
            || (prev(1) == Some("а") && prev(2) == Some("люди") && prev(3) == Some("не")))
}

/// Is the insult at `i` called out at the start of a sentence that speaks to someone
/// (`дармоеды, сколько лет обещаете водопровод`, `упыри, кровь из пенсионеров пьёте`), not
/// one of a list (`крысы, тараканы — …`)?
fn called_out(words: &[Word<'_>], i: usize, start: usize, end: usize) -> bool {
    let (_, ce) = clause_of(words, i);
    let after = (ce < end).then(|| &words[ce]);
    let one_word_clause = ce + 1 < end && words[ce + 1].token.clause_start;
    words[i].token.clause_start
        && ce == i + 1
        && i == start
        && words[i].second_in_sentence
        && after.is_some_and(|w| {
            is_any(w, fw::QUESTIONS)
                || is_any(w, fw::SECOND_PERSON)
                || fw::second_person_verb(&w.token.text)
                || !(w.is(Sec::Aimed) || w.is(Sec::Noun) || one_word_clause)
        })
}
