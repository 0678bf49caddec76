//! Function words the rules ask about: closed classes of Russian, not data to extend.

/// The writer: an insult after these is about the writer ("не держите нас за идиотов").
pub(super) const FIRST_PERSON: &[&str] = &["нас", "меня", "мы", "я", "нам", "мне", "себя"];
/// Speaking to someone.
pub(super) const SECOND_PERSON: &[&str] = &[
    "ты",
    "вы",
    "тебя",
    "вас",
    "тебе",
    "вам",
    "тобой",
    "вами",
    "твой",
    "твоя",
    "твое",
    "твои",
    "твою",
    "твоего",
    "твоей",
    "твоих",
    "ваш",
    "ваша",
    "ваше",
    "ваши",
    "вашу",
    "вашего",
    "вашей",
    "ваших",
    "вашему",
    "вашим",
];
/// Before a capitalised word they make it a place, not a person (`на Садовой`).
pub(super) const PREPOSITIONS: &[&str] = &[
    "на",
    "по",
    "в",
    "во",
    "у",
    "до",
    "от",
    "с",
    "со",
    "из",
    "за",
    "к",
    "ко",
    "под",
    "над",
    "при",
    "около",
    "возле",
    "через",
];
/// What may follow a bare threat at the end of its clause (`спалим к чертям`,
/// `передавим по одному`).
pub(super) const FILLERS: &[&str] = &[
    "к",
    "чертям",
    "черту",
    "чертовой",
    "матери",
    "всех",
    "все",
    "всю",
    "весь",
    "нафиг",
    "нахрен",
    "на",
    "хрен",
    "фиг",
    "по",
    "одному",
    "одной",
    "дотла",
    "разом",
    "сразу",
    "тогда",
    "живьем",
    "мигом",
    "быстро",
    "их",
    "его",
    "ее",
    "вмиг",
    "точно",
    "обязательно",
    "ночью",
];
/// A condition that makes what follows an ultimatum (`если…`, `ещё раз…`, `кто…`).
pub(super) const CONDITIONS: &[&str] = &["если", "раз", "кто", "иначе", "только", "пусть"];
/// Doing it oneself is self-help, not a threat (`сами закопаем`).
pub(super) const SELF: &[&str] = &["сам", "сами", "самим", "сама"];

/// A verb form of the 2nd person (`отключите`, `уберете`, `наживаетесь`, `знаешь`).
pub(super) fn second_person_verb(w: &str) -> bool {
    w.chars().count() > 4
        && [
            "ете",
            "ите",
            "етесь",
            "итесь",
            "ешь",
            "ишь",
            "ешься",
            "ишься",
        ]
        .iter()
        .any(|e| w.ends_with(e))
}

/// Looks like an imperative (`выпускай`, `уберите`, `гуляйте`).
pub(super) fn imperative_like(w: &str) -> bool {
    w.chars().count() > 4 && ["ай", "яй", "йте", "ите"].iter().any(|e| w.ends_with(e))
}

/// Looks like a finite verb or a past form (`бегают`, `срезали`, `звонят`).
pub(super) fn verb_like(w: &str) -> bool {
    w.chars().count() > 3
        && [
            "ет", "ют", "ут", "ят", "ит", "ал", "ала", "али", "ил", "ила", "или", "ся", "сь",
            "ешь", "ишь", "ел", "ела", "ели",
        ]
        .iter()
        .any(|e| w.ends_with(e))
}
