//! The built-in clause 12 judgment beyond the word list: threats (a harm verb aimed at a
//! person or their property, idioms and reports of others' acts left alone), insults aimed
//! at a person (not words about a situation), and obscenity with hidden letters. The word
//! lists are data, `config/clause12/*.txt`, compiled in. Pure.
//!
//! ## The lists' format
//!
//! One pattern a line, `#` comments, `[section]` headers. A pattern is one or more items
//! separated by spaces, matched on consecutive words of one sentence:
//!
//! - `слово` — a stem at the start of a word (`чиновник` matches `чиновники`);
//! - `=слово` — exactly this word;
//! - `~слово` — any word with the same Snowball stem (`~машина` matches `машину`);
//! - `+слово` — the word with any case ending ([`ENDINGS`]: `+говнюк` matches `говнюки`,
//!   `говнюками`, not `говнюковый`); in the hard insults ([noun] of `insults.txt`) also
//!   the derived [`DERIVED`] (`+дебил` matches `дебилоиды`, `+мраз` matches `мразота`);
//! - `{а,б}` after an item's text — alternatives (`=дебил{,ы,ов}` is `дебил`, `дебилы`,
//!   `дебилов`);
//! - `..` — up to three words of anything.
//!
//! Words are read as [`normalise`](super::normalise) reads them: lower case, `е` for `ё`.
//!
//! The harm verbs (`harm-verbs.txt`) are written differently, by their principal parts, and
//! every form in which the writer threatens is derived from them ([`verb_forms`]).

use super::mask;
use super::normalise::Normalised;
use crate::stem::stem;
use std::collections::HashMap;
use std::sync::OnceLock;

mod function_words;
mod insult;
mod list;
mod post;
mod verbs;
mod words;

use function_words as fw;
pub use list::{DERIVED, ENDINGS, List, ListError, Pattern};
use list::{Item, Kind, kind_key};
use verbs::harm_verbs;
pub use verbs::verb_forms;
use words::{SECS, Sec, Word, clause_of, context, first_at, is_any, sentences};

/// The sections whose words are a cue of abuse wherever they stand ([`Builtin::cues`]).
const CUES: [Sec; 11] = [
    Sec::Threat,
    Sec::Harm,
    Sec::Wish,
    Sec::Come,
    Sec::Weapon,
    Sec::Fire,
    Sec::Noun,
    Sec::Adjective,
    Sec::Accusation,
    Sec::Aimed,
    Sec::Curse,
];

/// The built-in lists, compiled once.
#[derive(Debug, Clone)]
pub struct Builtin {
    verbs: List,
    targets: List,
    idioms: List,
    phrases: List,
    reports: List,
    insults: List,
    masked: Vec<String>,
    /// How many harm verbs `harm-verbs.txt` holds (each with its derived forms).
    harm_verb_count: usize,
    /// The one-word patterns of every [`Sec`] by kind and text → the sections' bits, so
    /// that a word is looked up, not compared with every pattern.
    index: HashMap<(u8, String), u32>,
}

/// The shipped lists' texts, by file name under `config/clause12/`.
pub const FILES: &[(&str, &str)] = &[
    (
        "threat-verbs.txt",
        include_str!("../../../../../config/clause12/threat-verbs.txt"),
    ),
    (
        "harm-verbs.txt",
        include_str!("../../../../../config/clause12/harm-verbs.txt"),
    ),
    (
        "threat-targets.txt",
        include_str!("../../../../../config/clause12/threat-targets.txt"),
    ),
    (
        "threat-idioms.txt",
        include_str!("../../../../../config/clause12/threat-idioms.txt"),
    ),
    (
        "threat-phrases.txt",
        include_str!("../../../../../config/clause12/threat-phrases.txt"),
    ),
    (
        "report-markers.txt",
        include_str!("../../../../../config/clause12/report-markers.txt"),
    ),
    (
        "insults.txt",
        include_str!("../../../../../config/clause12/insults.txt"),
    ),
    (
        "masked.txt",
        include_str!("../../../../../config/clause12/masked.txt"),
    ),
];

fn text_of(name: &str) -> &'static str {
    FILES
        .iter()
        .find(|(n, _)| *n == name)
        .map_or("", |(_, t)| t)
}

fn file(name: &'static str) -> Result<List, ListError> {
    List::parse(name, text_of(name))
}

impl Builtin {
    /// The shipped lists, parsed once; an error is a bug in the shipped data.
    pub fn shipped() -> Result<&'static Builtin, ListError> {
        static BUILTIN: OnceLock<Result<Builtin, ListError>> = OnceLock::new();
        BUILTIN
            .get_or_init(|| {
                let masked = text_of("masked.txt")
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(|l| l.to_lowercase().replace('ё', "е"))
                    .collect();
                let verbs = harm_verbs(text_of("harm-verbs.txt"))?;
                let mut b = Builtin {
                    verbs: file("threat-verbs.txt")?,
                    targets: file("threat-targets.txt")?,
                    idioms: file("threat-idioms.txt")?,
                    phrases: file("threat-phrases.txt")?,
                    reports: file("report-markers.txt")?,
                    insults: file("insults.txt")?,
                    masked,
                    harm_verb_count: verbs.len(),
                    index: HashMap::new(),
                };
                let mut index: HashMap<(u8, String), u32> = HashMap::new();
                let mut add = |kind: &Kind, w: String, s: Sec| {
                    *index.entry((kind_key(kind), w)).or_default() |= 1 << s as u32;
                };
                for s in SECS {
                    for p in b.patterns(s) {
                        if let [Item::Word(kind, alts)] = p.items.as_slice() {
                            for a in alts {
                                add(kind, a.clone(), s);
                                if matches!(s, Sec::Noun) && *kind == Kind::Inflected {
                                    for d in DERIVED {
                                        add(kind, format!("{a}{d}"), s);
                                    }
                                }
                            }
                        }
                    }
                }
                for v in verbs {
                    let first = if v.kill { Sec::Threat } else { Sec::Harm };
                    for f in v.threat {
                        add(&Kind::Exact, f, first);
                    }
                    for f in v.call {
                        add(&Kind::Exact, f, Sec::Wish);
                    }
                }
                b.index = index;
                Ok(b)
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The stems a masked word is compared with (`masked.txt`).
    pub fn masked_stems(&self) -> impl Iterator<Item = &str> {
        self.masked.iter().map(String::as_str)
    }

    /// How many harm verbs are known by their principal parts (`harm-verbs.txt`).
    pub fn harm_verb_count(&self) -> usize {
        self.harm_verb_count
    }

    fn patterns(&self, s: Sec) -> &[Pattern] {
        match s {
            Sec::Threat => self.verbs.section("threat"),
            Sec::Harm => self.verbs.section("harm"),
            Sec::Wish => self.verbs.section("wish"),
            Sec::Come => self.verbs.section("come"),
            Sec::Person => self.targets.section("person"),
            Sec::Property => self.targets.section("property"),
            Sec::Body => self.targets.section("body"),
            Sec::Weapon => self.targets.section("weapon"),
            Sec::Organisation => self.targets.section("organisation"),
            Sec::Fire => self.targets.section("fire"),
            Sec::Object => self.idioms.section("object"),
            Sec::Report => self.reports.section("report"),
            Sec::Noun => self.insults.section("noun"),
            Sec::Adjective => self.insults.section("adjective"),
            Sec::Accusation => self.insults.section("accusation"),
            Sec::Aimed => self.insults.section("aimed"),
            Sec::Curse => self.phrases.section("curse"),
            Sec::Livestock => self.insults.section("livestock"),
            Sec::Farm => self.insults.section("farm"),
        }
    }

    /// Why the post falls under clause 12 by the built-in rules, or `None`.
    pub fn judge(&self, n: &Normalised) -> Option<String> {
        let mut words = self.read(n);
        context(&mut words);
        self.looking_back(&mut words);
        self.decide(n, &words)
    }

    /// The post's words that are in a threat or insult list (a harm verb, a threat, a call
    /// to harm, `приду`, a weapon, fire, an insult, a curse), whatever their context: an
    /// idiom (`убить время`), a report (`соседу угрожали`) or a word about a situation
    /// (`идиотская ситуация`) still counts. The rules decide with context; this is the
    /// cue the clause 12 model needs before it may exclude ([`super::Lexicon::exclude`]).
    pub fn cues<'a>(&self, n: &'a Normalised) -> Vec<&'a str> {
        let mask = CUES.iter().fold(0u32, |a, s| a | 1 << *s as u32);
        self.read(n)
            .into_iter()
            .filter(|w| w.flags & mask != 0)
            .map(|w| w.token.text.as_str())
            .collect()
    }

    /// The post's words, each with the sections its text falls in.
    fn read<'a>(&self, n: &'a Normalised) -> Vec<Word<'a>> {
        let mut words: Vec<Word<'_>> = n
            .tokens
            .iter()
            .map(|t| Word::new(t, stem(&t.text)))
            .collect();
        // Which one-word patterns each word matches: its text, its stem, each of its starts
        // and, for `+` items, each start followed by a case ending looked up (a word is at
        // most 40 letters, so this is bounded per word).
        for w in &mut words {
            let t = &w.token.text;
            if t.contains('*') {
                continue;
            }
            let get = |k: &Kind, s: &str| {
                self.index
                    .get(&(kind_key(k), s.to_string()))
                    .copied()
                    .unwrap_or(0)
            };
            let mut flags = get(&Kind::Exact, t) | get(&Kind::Snowball, &w.stem);
            // A letter doubled for effect (`урооды`, after `ууурооды` lost its stretch).
            let single = collapse(t);
            if single != *t {
                flags |= get(&Kind::Exact, &single);
                for (b, _) in single.char_indices().skip(1) {
                    flags |= get(&Kind::Prefix, &single[..b]);
                    if ENDINGS.contains(&&single[b..]) {
                        flags |= get(&Kind::Inflected, &single[..b]);
                    }
                }
            }
            for (b, _) in t.char_indices().skip(1) {
                flags |= get(&Kind::Prefix, &t[..b]);
                if ENDINGS.contains(&&t[b..]) {
                    flags |= get(&Kind::Inflected, &t[..b]);
                }
            }
            flags |= get(&Kind::Prefix, t) | get(&Kind::Inflected, t);
            w.flags = flags;
        }
        words
    }

    /// The judgment on the post's words once read in context.
    fn decide(&self, n: &Normalised, words: &[Word<'_>]) -> Option<String> {
        if let Some(w) = n
            .tokens
            .iter()
            .filter(|t| t.masked)
            .find_map(|t| mask::fitting(&t.pattern, self.masked_stems()).map(|_| &t.pattern))
        {
            return Some(format!("мат со скрытыми буквами: {w}"));
        }
        // The post speaks to someone: a 2nd person pronoun or verb, or an official named.
        let addressed = words.iter().any(|w| {
            !w.token.quoted
                && (is_any(w, fw::SECOND_PERSON)
                    || fw::second_person_verb(&w.token.text)
                    || w.is(Sec::Person))
        });
        if let Some(why) =
            sentences(words).find_map(|(start, end)| self.sentence(words, start, end, addressed))
        {
            return Some(why);
        }
        self.lone_threat(words)
            .or_else(|| self.veiled_fire(words))
            .or_else(|| self.curse(words))
            .or_else(|| self.at_my_hands(words))
    }

    /// Judge one sentence, `words[start..end]`.
    fn sentence(
        &self,
        words: &[Word<'_>],
        start: usize,
        end: usize,
        addressed: bool,
    ) -> Option<String> {
        // Someone else's words or acts are reported from the marker on (`сосед обещал
        // убить`, `меня назвали дебилом`); what the writer says before it is their own
        // (`депутат — ничтожество, обещал клуб и пропал`).
        // The writer's own words said again are not a report (`я сказал, что взорву…`).
        let own_end = (start..end)
            .find(|&i| {
                words[i].is(Sec::Report)
                    && !(i > start
                        && matches!(words[i - 1].token.text.as_str(), "я" | "мы")
                        && ["сказа", "говор", "обеща", "предупрежд", "предупред"]
                            .iter()
                            .any(|s| words[i].token.text.starts_with(s)))
            })
            .unwrap_or(end);
        if let Some(why) = self.threat(words, start, own_end, end, addressed) {
            return Some(why);
        }
        self.insult(words, start, own_end, end)
    }

    fn is_target(&self, words: &[Word<'_>], i: usize, start: usize) -> bool {
        words[i].is(Sec::Person)
            || words[i].is(Sec::Property)
            || words[i].is(Sec::Body)
            // A name: a capitalised word that does not open the sentence and does not
            // follow a preposition (`на Садовой` is a street).
            || (i > start && words[i].token.capital && words[i].token.text.chars().count() > 2
                && words[i].token.text.chars().all(char::is_alphabetic)
                && !is_any(&words[i - 1], fw::PREPOSITIONS))
            // Opening the sentence, only a surname in the case of one harmed
            // (`Кравцову пристрелить мало`).
            || (i == start && surname_object(&words[i]))
    }

    /// Is the harm verb or phrase at `a..=b` aimed at a target within its clause, before it
    /// (up to three words) or after it (up to four, unless an ordinary object comes first:
    /// `закопаем яму у дома`)?
    fn aimed(&self, words: &[Word<'_>], a: usize, b: usize, start: usize) -> Option<usize> {
        let (cs, _) = clause_of(words, a);
        let (_, ce) = clause_of(words, b);
        let before = a.saturating_sub(3).max(cs);
        // An office before the verb is its target (`эту из МФЦ подкараулим`), not a place
        // (`парковку у ЦРБ надо похоронить`).
        let office = |k: usize| {
            words[k].is(Sec::Organisation) && !(k > start && is_any(&words[k - 1], fw::LOCATIVE))
        };
        if let Some(k) = (before..a)
            .find(|&k| (self.is_target(words, k, start) || office(k)) && !source(words, k, start))
        {
            return Some(k);
        }
        // Four words after it, not counting fillers (`взорву к чёртовой матери эту
        // контору`); an organisation is a target of harm too (`сожгу вашу управу`).
        let mut seen = 0;
        for k in b + 1..ce {
            if seen == 4 {
                break;
            }
            // The writer and those with them are not whom a threat is aimed at (`вешать нам
            // лапшу на уши`); counted, so that the look stays four words long.
            if is_any(&words[k], fw::FIRST_PERSON) {
                seen += 1;
                continue;
            }
            // A place where, not what is harmed (`повесить на доме табличку`); a hand that
            // writes (`повесьте хоть от руки`).
            let prev = words[k - 1].token.text.as_str();
            if (words[k].is(Sec::Property) && matches!(prev, "на" | "в" | "во"))
                || (words[k].is(Sec::Body) && prev == "от")
            {
                seen += 1;
                continue;
            }
            if self.is_target(words, k, start) || words[k].is(Sec::Organisation) {
                return Some(k);
            }
            if words[k].is(Sec::Object) {
                return None;
            }
            if !is_any(&words[k], fw::FILLERS) && !is_any(&words[k], fw::DEMONSTRATIVES) {
                seen += 1;
            }
        }
        None
    }

    /// Is an ordinary object (time, calories, rubbish) the first thing after the verb at `i`?
    fn idiom_after(&self, words: &[Word<'_>], i: usize, start: usize, end: usize) -> bool {
        for k in i + 1..(i + 4).min(end) {
            if words[k].is(Sec::Object) {
                return true;
            }
            if self.is_target(words, k, start) {
                return false;
            }
        }
        false
    }

    /// A harm verb said bare as an ultimatum: `не уберёте свалку — спалим`, `ещё раз
    /// отключите воду — придём и прибьём`, `кто сунется — закопаем`. The verb (1st person)
    /// ends its clause (but for words like `к чертям`, `всех`), a dash or a condition comes
    /// before it in the sentence, the post speaks to someone (or the condition is `кто`),
    /// and it is not self-help (`сами закопаем`) or negated.
    fn bare(&self, words: &[Word<'_>], i: usize, start: usize, addressed: bool) -> bool {
        let w = &words[i];
        let negated = i > start && words[i - 1].token.text == "не";
        let who = w.condition_before == Some(true);
        !negated
            && !w.own_before
            && w.fillers_after
            && (w.dash_so_far || w.condition_before.is_some())
            && (addressed || who)
    }

    fn threat(
        &self,
        words: &[Word<'_>],
        start: usize,
        own_end: usize,
        end: usize,
        addressed: bool,
    ) -> Option<String> {
        // Once per sentence, not per word: a hostile post may be one long sentence.
        let please = (start..end).any(|k| words[k].token.text == "пожалуйста");
        for i in start..own_end {
            if words[i].token.quoted {
                continue;
            }
            let w = &words[i].token.text;
            let negated = i > start && words[i - 1].token.text == "не";
            if !negated
                && let Some((_, e)) = first_at(self.phrases.section("threat"), words, i, end)
            {
                return Some(format!("угроза: {}", span(words, i, e)));
            }
            if !negated
                && let Some((_, e)) = first_at(self.phrases.section("aimed"), words, i, end)
                && let Some(k) = self
                    .aimed(words, i, e - 1, start)
                    .or_else(|| self.named_before(words, i))
                    // Or inside it (`вывезем этого директора МУПа в лес`).
                    .or_else(|| (i + 1..e).find(|&k| self.is_target(words, k, start)))
            {
                let (a, b) = (k.min(i), k.max(e - 1));
                return Some(format!("угроза: {}", span(words, a, b + 1)));
            }
            if words[i].is(Sec::Threat) && !self.idiom_after(words, i, start, end) {
                return Some(format!("угроза: {w}"));
            }
            // Self-help (`сами сожжём`), or the writer's own harm or a danger ([`own_self`]).
            let helping = words[i].own_before
                || (i + 1..(i + 3).min(end)).any(|k| is_any(&words[k], fw::SELF));
            let danger = own_self(words, i, start, end);
            let own = helping || danger;
            // A call said with `пожалуйста` asks for work (`закопайте их уже асфальтом,
            // пожалуйста` of potholes).
            let polite = words[i].is(Sec::Wish) && please;
            if (words[i].is(Sec::Harm) || words[i].is(Sec::Wish))
                && !polite
                && let Some(k) = self.aimed(words, i, i, start)
                // `сами закопаем` is self-help, unless what is harmed is a person named
                // or a body (`сам приду и башку вашему слесарю проломлю`).
                && (!own || (!danger && harms_someone(&words[k])))
            {
                let (a, b) = if k < i { (k, i) } else { (i, k) };
                return Some(format!("угроза: {}", span(words, a, b + 1)));
            }
            if words[i].is(Sec::Harm) && self.bare(words, i, start, addressed) {
                return Some(format!("угроза: {w}"));
            }
            // The one harmed named earlier in the sentence (`заведующую, которая выставила
            // ребёнка на мороз, порежу`), or the harm sworn to (`порежу, клянусь`).
            if words[i].is(Sec::Harm) && !negated && !own {
                let sworn = (i + 1..(i + 3).min(end)).any(|k| is_any(&words[k], fw::OATHS));
                if let Some(k) = self.named_before(words, i) {
                    return Some(format!("угроза: {}", span(words, k, i + 1)));
                }
                if sworn {
                    return Some(format!("угроза: {w}"));
                }
            }
            // A call to harm those named earlier in the sentence, with `надо`, `пора`, `бы`
            // or `мало` (`вас, депутатов, надо по одному вешать`, `всех вас, чинуш,
            // перестрелять мало`).
            if words[i].is(Sec::Wish)
                && !negated
                && !own
                && !polite
                && (i.saturating_sub(3).max(start)..(i + 3).min(end))
                    .any(|k| is_any(&words[k], fw::MODAL))
                && let Some(k) = self.named_before(words, i)
                && harms_someone(&words[k])
            {
                return Some(format!("угроза: {}", span(words, k, i + 1)));
            }
            // `приду с ружьём`, `ружьё есть, приду в администрацию`
            if words[i].is(Sec::Come)
                && let Some(k) = (i + 1..(i + 9).min(end))
                    .chain(i.saturating_sub(8).max(start)..i)
                    .find(|&k| words[k].is(Sec::Weapon))
            {
                return Some(format!("угроза: {}", span(words, i.min(k), i.max(k) + 1)));
            }
        }
        None
    }
}

/// Is the harm at `i` the writer's own or a danger that can happen, whoever does it:
/// `себе`, an idiom after `хоть` (`хоть глаз выколи`, `хоть убей`), `может` (`снег с
/// крыши может убить`), `шею свернуть можно`?
fn own_self(words: &[Word<'_>], i: usize, start: usize, end: usize) -> bool {
    (i.saturating_sub(2).max(start)..(i + 3).min(end))
        .any(|k| matches!(words[k].token.text.as_str(), "себе" | "себя"))
        // The writer harmed (`вы нас убить хотите этими канавами?`).
        || (i.saturating_sub(2).max(start)..i)
            .any(|k| matches!(words[k].token.text.as_str(), "нас" | "меня"))
        || (i.saturating_sub(2).max(start)..i)
            .any(|k| words[k].token.text == "хоть" || is_any(&words[k], fw::CAN))
        || (words[i].is(Sec::Wish) && (i + 1..(i + 3).min(end)).any(|k| is_any(&words[k], fw::CAN)))
}

/// A capitalised word in the dative or accusative of a Russian surname in -ов, -ев
/// (`Кравцову`, `Зуевой`), not one of the common words so ending (`Корову`, `Голову`).
/// Not -ова (`Готова`, `Снова`) nor -ину (`Машину`): too many ordinary words end so.
fn surname_object(w: &Word<'_>) -> bool {
    const ENDINGS: &[&str] = &["ову", "еву", "овой", "евой"];
    const COMMON: &[&str] = &[
        "корову",
        "голову",
        "основу",
        "сову",
        "вдову",
        "подкову",
        "здоровой",
        "суровой",
        "готовой",
        "толковой",
        "дешевой",
        "полевой",
        "боевой",
        "деловой",
        "моровой",
    ];
    let t = w.token.text.as_str();
    w.token.capital
        && t.chars().count() > 4
        && t.chars().all(char::is_alphabetic)
        && ENDINGS.iter().any(|e| t.ends_with(e))
        && !COMMON.contains(&t)
}

/// Is the word a person (not `его`, `их`: a dog or a pothole may be meant), a name or a
/// body?
fn harms_someone(w: &Word<'_>) -> bool {
    w.is(Sec::Body)
        || (w.is(Sec::Person) && !is_any(w, fw::THIRD_PERSON))
        || (w.token.capital && !w.is(Sec::Property) && !w.is(Sec::Organisation))
}

/// The word with every doubled letter written once.
fn collapse(t: &str) -> String {
    let mut out = String::with_capacity(t.len());
    let mut last = None;
    for c in t.chars() {
        if Some(c) != last {
            out.push(c);
        }
        last = Some(c);
    }
    out
}

/// The words `a..b` of the post, as read, joined by spaces.
fn span(words: &[Word<'_>], a: usize, b: usize) -> String {
    words[a..b.min(words.len())]
        .iter()
        .map(|w| w.token.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whom or what something comes from, not a target: the word at `k` right after `с`/`со`,
/// or one word after it (`по тысяче с каждого двора на фонари`); not with whom, by an
/// instrumental ending (`порешаем вопрос с вашим замом`).
fn source(words: &[Word<'_>], k: usize, start: usize) -> bool {
    const WITH: &[&str] = &["ом", "ем", "ой", "ей", "ами", "ями", "им", "ым", "мя"];
    let from = |j: usize| matches!(words[j].token.text.as_str(), "с" | "со");
    let with = WITH.iter().any(|e| words[k].token.text.ends_with(e));
    !with && ((k > start && from(k - 1)) || (k > start + 1 && from(k - 2)))
}

#[cfg(test)]
mod tests {
    use super::words::item_matches;
    use super::*;

    #[test]
    fn the_shipped_lists_parse() {
        let b = Builtin::shipped().unwrap();
        // Every section but the phrases is asked about word by word.
        for s in SECS {
            for p in b.patterns(s) {
                assert_eq!(p.items.len(), 1, "{s:?}: «{}» is not one word", p.source);
            }
        }
        assert!(!b.verbs.section("threat").is_empty());
        assert!(!b.targets.section("person").is_empty());
        assert!(!b.insults.section("noun").is_empty());
        assert!(b.masked_stems().count() > 5);
        assert!(b.harm_verb_count() >= 75, "{}", b.harm_verb_count());
    }

    #[test]
    fn verb_forms_are_derived_from_principal_parts() {
        let (threat, call) = verb_forms(&["убить", "убью", "убьёшь", "убей"]).unwrap();
        assert_eq!(threat, ["убью", "убьем"]);
        assert_eq!(call, ["убить", "убейте", "убей"]);
        let (threat, _) = verb_forms(&["задушить", "задушу", "задушишь", "задуши"]).unwrap();
        assert_eq!(threat, ["задушу", "задушим"]);
        let (threat, call) = verb_forms(&["-", "-", "сожжёшь", "-"]).unwrap();
        assert_eq!((threat, call.len()), (vec!["сожжем".to_string()], 0));
        assert!(verb_forms(&["убить", "убью"]).is_err());
        assert!(verb_forms(&["убить", "убью", "убьёт", "убей"]).is_err());
        let e = harm_verbs("[kill]\nубить убью убьёшь убей\n[x]\n")
            .err()
            .unwrap();
        assert_eq!(e.line, 3);
    }

    #[test]
    fn inflected_items_take_case_endings_not_derivations() {
        let l = List::parse("t", "[a]\n+говнюк\n").unwrap();
        let [Item::Word(kind, alts)] = l.section("a")[0].items.as_slice() else {
            panic!("one word");
        };
        let n = crate::lexicon::normalise::normalise("говнюками говнюковый");
        let words: Vec<Word<'_>> = n
            .tokens
            .iter()
            .map(|t| Word::new(t, String::new()))
            .collect();
        let item = Item::Word(kind.clone(), alts.clone());
        assert!(item_matches(&item, &words[0]));
        assert!(!item_matches(&item, &words[1]));
    }

    #[test]
    fn list_syntax() {
        let l = List::parse("t", "[a]\n=дебил{,ы}\n~машина\nчинов .. =ответят\n").unwrap();
        assert_eq!(l.section("a").len(), 3);
        assert!(l.section("b").is_empty());
        let e = List::parse("t", "\n=x{a\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(List::parse("t", ".. =a\n").is_err());
        assert!(List::parse("t", "я\n").is_err());
    }
}
