//! The labels of a monitoring notification's fields (docs/notifications.md): the built-in
//! Russian and English ones plus the extras an admin adds in `[intake.labels]`. They live
//! with the configuration, which builds them; intake only reads with them.

/// The fields a label can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// The platform's own number for the incident (`source_id`, `Номер инцидента`).
    SourceId,
    /// The subject area the post is about, used for routing (`topic`, `Рубрика`).
    Topic,
    /// The municipality or place the post concerns (`location`, `Локация`).
    Location,
    /// The importance category, which selects the deadlines (`category`, `Важность`).
    Category,
    /// The social network or site where the post appeared (`source`, `Источник`).
    Source,
    /// The address of the post (`link`, `Ссылка`).
    Link,
    /// Who wrote the post (`author`, `Автор`).
    Author,
    /// When the platform detected the post, the start of the answer deadline
    /// (`detected_at`, `Дата выявления`).
    DetectedAt,
    /// The post's text, which may span lines (`text`, `Текст сообщения`).
    Text,
    /// Whether the platform flags the post as a repeat (`repeat`, `Повторное`).
    Repeat,
}

impl Field {
    /// The name used in `[intake.labels]` (`source_id`, `topic`, …).
    pub fn from_key(key: &str) -> Option<Field> {
        Some(match key {
            "source_id" => Field::SourceId,
            "topic" => Field::Topic,
            "location" => Field::Location,
            "category" => Field::Category,
            "source" => Field::Source,
            "link" => Field::Link,
            "author" => Field::Author,
            "detected_at" => Field::DetectedAt,
            "text" => Field::Text,
            "repeat" => Field::Repeat,
            _ => return None,
        })
    }
}

/// The built-in labels (docs/notifications.md).
const BUILTIN: &[(Field, &[&str])] = &[
    (
        Field::SourceId,
        &[
            "Номер инцидента",
            "ID инцидента",
            "Инцидент №",
            "Номер сообщения",
            "Incident ID",
        ],
    ),
    (
        Field::Topic,
        &[
            "Рубрика",
            "Тематика",
            "Тема сообщения",
            "Тема инцидента",
            "Topic",
        ],
    ),
    (
        Field::Location,
        &[
            "Локация",
            "Муниципалитет",
            "Муниципальное образование",
            "Территория",
            "Населённый пункт",
            "Location",
        ],
    ),
    (
        Field::Category,
        &[
            "Категория важности",
            "Важность",
            "Приоритет",
            "Критичность",
            "Category",
            "Priority",
        ],
    ),
    (
        Field::Source,
        &["Источник", "Площадка", "Социальная сеть", "Source"],
    ),
    (
        Field::Link,
        &[
            "Ссылка",
            "Ссылка на сообщение",
            "Ссылка на публикацию",
            "URL",
            "Link",
        ],
    ),
    (Field::Author, &["Автор", "Автор сообщения", "Author"]),
    (
        Field::DetectedAt,
        &[
            "Дата выявления",
            "Время выявления",
            "Дата регистрации",
            "Выявлено",
            "Detected",
        ],
    ),
    (
        Field::Text,
        &["Текст сообщения", "Текст публикации", "Текст", "Text"],
    ),
    (
        Field::Repeat,
        &["Повторное", "Повторное обращение", "Repeat"],
    ),
];

/// The label vocabulary: the built-in labels (docs/notifications.md) plus the admin's extras.
#[derive(Debug, Clone, Default)]
pub struct Labels {
    /// Normalised labels (see [`normalise`]), longest first so that `Ссылка на сообщение`
    /// wins over `Ссылка`.
    entries: Vec<(String, Field)>,
}

impl Labels {
    /// The built-in Russian and English labels of every field, without extras.
    pub fn builtin() -> Labels {
        let mut labels = Labels::default();
        for (field, names) in BUILTIN {
            for name in *names {
                labels.add(*field, name);
            }
        }
        labels
    }

    /// Adds extra labels for a field (from `[intake.labels]`). A trailing `:`/`-` and
    /// surrounding spaces are ignored; an empty label is ignored.
    pub fn add(&mut self, field: Field, label: &str) {
        let label = label
            .trim()
            .trim_end_matches([':', '-', '–', '—'])
            .trim_end();
        let norm = normalise(label);
        if norm.is_empty() || self.entries.iter().any(|(l, _)| *l == norm) {
            return;
        }
        self.entries.push((norm, field));
        self.entries
            .sort_by_key(|(l, _)| std::cmp::Reverse(l.chars().count()));
    }

    /// The labels of one field, normalised.
    pub fn labels_of(&self, field: Field) -> impl Iterator<Item = &str> {
        self.entries
            .iter()
            .filter(move |(_, f)| *f == field)
            .map(|(l, _)| l.as_str())
    }

    /// If `line` is a label line: its field and the value (trimmed, maybe empty).
    pub fn match_line<'a>(&self, line: &'a str) -> Option<(Field, &'a str)> {
        let line = line
            .trim_start_matches(|c: char| c.is_whitespace() || matches!(c, '>' | '*' | '•' | '·'));
        // Most lines (blank ones, text) start with no label's first letter: one check
        // instead of one per label.
        let first = normalise_char(line.chars().next()?).next()?;
        for (label, field) in &self.entries {
            if !label.starts_with(first) {
                continue;
            }
            let Some(end) = prefix_len(line, label) else {
                continue;
            };
            let rest = &line[end..];
            let label_ends_in_sign = label.ends_with(['№', '#']);
            let next = rest.chars().next();
            // The label must end at a word boundary.
            if !label_ends_in_sign && next.is_some_and(|c| c.is_alphanumeric()) {
                continue;
            }
            let after_space = rest.trim_start();
            if after_space.is_empty() {
                return Some((*field, ""));
            }
            if let Some(v) = after_space.strip_prefix([':', '-', '–', '—']) {
                let v = v.trim_start_matches([':', '-', '–', '—']);
                return Some((*field, v.trim()));
            }
            if label_ends_in_sign {
                return Some((*field, after_space.trim()));
            }
        }
        None
    }
}

fn normalise_char(c: char) -> impl Iterator<Item = char> {
    c.to_lowercase()
        .map(|c| if c == 'ё' { 'е' } else { c })
        .map(|c| if c.is_whitespace() { ' ' } else { c })
}

/// Lower case, `ё` → `е`, runs of whitespace → one space, trimmed.
pub fn normalise(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().flat_map(normalise_char) {
        if c == ' ' && (out.is_empty() || out.ends_with(' ')) {
            continue;
        }
        out.push(c);
    }
    out.trim_end().to_string()
}

/// Byte length of the prefix of `line` that equals the normalised `label`.
fn prefix_len(line: &str, label: &str) -> Option<usize> {
    let mut want = label.chars().peekable();
    let mut it = line.char_indices().peekable();
    while let Some(&w) = want.peek() {
        let (_, c) = it.next()?;
        if w == ' ' {
            if !c.is_whitespace() {
                return None;
            }
            while it.peek().is_some_and(|(_, c)| c.is_whitespace()) {
                it.next();
            }
            want.next();
            continue;
        }
        let mut norm = normalise_char(c);
        for n in norm.by_ref() {
            if want.next() != Some(n) {
                return None;
            }
        }
    }
    Some(it.peek().map_or(line.len(), |&(i, _)| i))
}
