//! Function words the rules ask about: closed classes of Russian, not data to extend.

/// The writer: an insult after these is about the writer ("не держите нас за идиотов").
pub(super) const FIRST_PERSON: &[&str] = &["нас", "меня", "мы", "я", "нам", "мне", "себя", "себе"];
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
/// What makes an infinitive a call (`надо вешать`, `перестрелять мало`, `пора гнать`).
pub(super) const MODAL: &[&str] = &["надо", "нужно", "пора", "бы", "мало", "следует"];
/// Doing it oneself is self-help, not a threat (`сами закопаем`), unless a person is harmed.
pub(super) const SELF: &[&str] = &["сам", "сами", "самим", "сама"];
/// Prepositions of place: an office after them is where, not whom (`у ЦРБ`).
pub(super) const LOCATIVE: &[&str] = &[
    "у",
    "в",
    "во",
    "на",
    "около",
    "возле",
    "при",
    "к",
    "по",
    "до",
];
/// Swearing to a threat (`порежу, клянусь`).
pub(super) const OATHS: &[&str] = &["клянусь", "обещаю", "гарантирую", "отвечаю", "зуб"];
/// Words between an official and what they are called (`фельдшер у нас алкаш`).
pub(super) const BETWEEN: &[&str] = &[
    "у",
    "нас",
    "них",
    "вас",
    "это",
    "просто",
    "же",
    "настоящий",
    "настоящая",
    "настоящие",
    "полный",
    "полная",
    "ну",
    "все",
    "одни",
    "сплошные",
    // `глава наш вор`, `депутатша наша овца`, `мэр ваш клоун`.
    "наш",
    "наша",
    "наши",
    "ваш",
    "ваша",
    "ваши",
];
/// Sitting in an office (`в отделе сидят одни гадюки`).
pub(super) const SITTING: &[&str] = &["сидят", "сидит", "работают", "работает", "собрались"];
/// Pronouns of someone not addressed, which are targets of harm but never insulted.
pub(super) const THIRD_PERSON: &[&str] = &[
    "его", "ее", "ей", "ему", "их", "им", "ним", "ней", "нее", "него", "них",
];
/// Questions that follow a word called out (`дармоеды, сколько можно…`).
pub(super) const QUESTIONS: &[&str] = &[
    "сколько",
    "когда",
    "где",
    "почему",
    "зачем",
    "как",
    "что",
    "доколе",
    "долго",
    "опять",
    "снова",
    "хватит",
    "чего",
];
/// Pointing at someone (`козёл этот начальник`, `жаба эта из отдела кадров`).
pub(super) const DEMONSTRATIVES: &[&str] = &[
    "этот",
    "эта",
    "эти",
    "этого",
    "этой",
    "этих",
    "этому",
    "этим",
    "тот",
    "та",
    "те",
];

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

/// Looks like an adjective or a pronoun declined as one, by its ending (`тупая`, `наша`,
/// `старого`).
pub(super) fn adjective_like(w: &str) -> bool {
    const ENDINGS: &[&str] = &[
        "ый", "ий", "ой", "ая", "яя", "ое", "ее", "ые", "ие", "ую", "юю", "ого", "его", "ым", "им",
        "ых", "их", "ою", "ей",
    ];
    ENDINGS.iter().any(|e| w.ends_with(e))
}

/// Looks like an imperative (`выпускай`, `уберите`, `гуляйте`).
pub(super) fn imperative_like(w: &str) -> bool {
    w.chars().count() > 4 && ["ай", "яй", "йте", "ите"].iter().any(|e| w.ends_with(e))
}

/// Looks like an infinitive (`купить`, `держать`, `везти`, `беречь`).
pub(super) fn infinitive_like(w: &str) -> bool {
    w.chars().count() > 3
        && ["ть", "ти", "чь", "ться", "тись"]
            .iter()
            .any(|e| w.ends_with(e))
}

/// Looks like a verb a noun could be the object of: a finite or past form, or an
/// infinitive (`держать корову`, `купить корову`).
pub(super) fn verb_or_infinitive(w: &str) -> bool {
    verb_like(w) || infinitive_like(w)
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

/// What can happen or was tried, not what the writer will do (`снег может убить`, `кто-то
/// пытался поджечь машину`): a harm verb after these is a warning or a report.
pub(super) const CAN: &[&str] = &[
    "может",
    "могут",
    "можно",
    "мог",
    "могла",
    "могло",
    "могли",
    "способен",
    "способна",
    "пытался",
    "пыталась",
    "пытались",
    "пробовал",
    "пробовали",
    "собирался",
    "собирались",
    "хотели",
    "грозился",
    "грозились",
];
