//! Words typed in Latin letters, read as the Russian they stand for: by transliteration,
//! as Russian is typed on a Latin keyboard (`pizdec` → `пиздец`, `urody` → `уроды`), and,
//! for the obscenity lists, by look-alike letters (`cyka` → `сука`). Pure.

/// A word typed in Latin letters read in Cyrillic, as Russian is typed on a Latin keyboard
/// (`pizdec` → `пиздец`, `blyad` → `бляд`); a hidden letter `*` stays. `None` for a word
/// with other characters or fewer than two letters.
pub fn transliterate(word: &str) -> Option<String> {
    let letters = word.chars().filter(char::is_ascii_alphabetic).count();
    // Digits written for letters (`bl9t`, `e6at`) are read as those letters.
    if letters < 2
        || !word
            .chars()
            .all(|c| c.is_ascii_alphabetic() || matches!(c, '*' | '9' | '6' | '3' | '4' | '0'))
    {
        return None;
    }
    const PAIRS: &[(&str, &str)] = &[
        ("shch", "щ"),
        ("sch", "щ"),
        ("zh", "ж"),
        ("kh", "х"),
        ("ts", "ц"),
        ("ch", "ч"),
        ("sh", "ш"),
        ("ya", "я"),
        ("ja", "я"),
        ("yu", "ю"),
        ("ju", "ю"),
        ("yo", "е"),
        ("jo", "е"),
        ("ye", "е"),
        ("je", "е"),
    ];
    let w = word.to_ascii_lowercase();
    let mut out = String::with_capacity(w.len() * 2);
    let mut rest = w.as_str();
    'outer: while !rest.is_empty() {
        for (latin, cyr) in PAIRS {
            if let Some(r) = rest.strip_prefix(latin) {
                out.push_str(cyr);
                rest = r;
                continue 'outer;
            }
        }
        let c = rest.as_bytes()[0];
        let after_vowel = out.chars().last().is_some_and(|p| "аеиоуыэюя".contains(p));
        out.push(match c {
            b'y' if after_vowel => 'й',
            b'*' => '*',
            b'9' => 'я',
            b'6' => 'б',
            b'3' => 'з',
            b'4' => 'ч',
            b'0' => 'о',
            b'a' => 'а',
            b'b' => 'б',
            b'c' => 'ц',
            b'd' => 'д',
            b'e' => 'е',
            b'f' => 'ф',
            b'g' => 'г',
            b'h' => 'х',
            b'i' => 'и',
            b'j' => 'й',
            b'k' => 'к',
            b'l' => 'л',
            b'm' => 'м',
            b'n' => 'н',
            b'o' => 'о',
            b'p' => 'п',
            b'q' => 'к',
            b'r' => 'р',
            b's' => 'с',
            b't' => 'т',
            b'u' => 'у',
            b'v' => 'в',
            b'w' => 'в',
            b'x' => 'х',
            b'y' => 'ы',
            _ => 'з',
        });
        rest = &rest[1..];
    }
    Some(out)
}

/// A word typed in Latin letters that look like Cyrillic ones (`cyka`, `xep`) read as
/// those letters; `None` if any letter has no look-alike or the word is shorter than three.
pub fn look_alike(word: &str) -> Option<String> {
    if word.chars().count() < 3 {
        return None;
    }
    word.chars()
        .map(|c| match c.to_ascii_lowercase() {
            'a' => Some('а'),
            'b' => Some('б'),
            'c' => Some('с'),
            'e' => Some('е'),
            'h' => Some('н'),
            'k' => Some('к'),
            'm' => Some('м'),
            'o' => Some('о'),
            'p' => Some('р'),
            't' => Some('т'),
            'x' => Some('х'),
            'y' => Some('у'),
            'u' => Some('и'),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin_words_read_in_cyrillic() {
        assert_eq!(transliterate("pizdec").as_deref(), Some("пиздец"));
        assert_eq!(transliterate("shchuka").as_deref(), Some("щука"));
        assert_eq!(transliterate("vodu").as_deref(), Some("воду"));
        assert_eq!(transliterate("nahuy").as_deref(), Some("нахуй"));
        assert_eq!(transliterate("urody").as_deref(), Some("уроды"));
        assert_eq!(transliterate("hu*nya").as_deref(), Some("ху*ня"));
        assert_eq!(transliterate("вода"), None);
        assert_eq!(transliterate("4g"), None);
        assert_eq!(look_alike("cyka").as_deref(), Some("сука"));
        assert_eq!(look_alike("vodu"), None);
    }
}
