//! The clause 12 lexicon: the format, and the shipped judgment (built-in rules and the
//! starter list) in both directions.
#![allow(clippy::disallowed_methods)] // the tests read fixture files; the core does not

use otklik_core::lexicon::Lexicon;

fn shipped() -> Lexicon {
    let path = format!(
        "{}/config/exclude-words.txt",
        concat!(env!("CARGO_MANIFEST_DIR"), "/../..")
    );
    let text = std::fs::read_to_string(&path).unwrap();
    Lexicon::clause12(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn stems_match_at_word_start_only() {
    let lx = Lexicon::parse("# comment\n\nмудак\n").unwrap();
    assert_eq!(lx.len(), 1);
    assert_eq!(lx.find("Ты мудак."), Some("мудак".into()));
    assert_eq!(lx.find("МУДАКИ!!!"), Some("мудак".into()));
    assert_eq!(lx.find("(мудаков) полно"), Some("мудак".into()));
    assert_eq!(lx.find("премудакам"), None);
    // A word split by a hyphen is read joined too.
    assert_eq!(lx.find("му-дак"), Some("мудак".into()));
    assert_eq!(lx.find("по-моему, дак нет"), None);
}

#[test]
fn yo_equals_ye_both_ways() {
    let lx = Lexicon::parse("ёлк\nзелен\n").unwrap();
    assert_eq!(lx.find("Елки"), Some("ёлк".into()));
    assert_eq!(lx.find("Зелёный"), Some("зелен".into()));
    let lx = Lexicon::parse("/\\bсвёкл/").unwrap();
    assert_eq!(lx.find("СВЕКЛА"), Some("/\\bсвёкл/".into()));
}

#[test]
fn latin_look_alikes_inside_cyrillic_words() {
    let lx = Lexicon::parse("сука\nfuck\nтакси\n").unwrap();
    // Latin "C" in "Cука", Latin "x", "y" in "xyйня" are read as Cyrillic.
    assert_eq!(lx.find("Cука!"), Some("сука".into()));
    assert_eq!(lx.find("FUCK"), Some("fuck".into()));
    // A purely Latin word is read as transliterated Russian, and as typed.
    assert_eq!(lx.find("taxi"), None);
    assert_eq!(lx.find("suka"), Some("сука".into()));
    assert_eq!(lx.find("what the fuck"), Some("fuck".into()));
    let lx = shipped();
    assert!(lx.find("Это xyйня полная").is_some());
    assert!(lx.find("Пиздeц").is_some(), "Latin e");
    assert_eq!(lx.find("Book a taxi to the hotel"), None);
}

#[test]
fn phrases_span_any_spaces() {
    let lx = Lexicon::parse("убить тебя\n").unwrap();
    assert_eq!(lx.find("Я хочу убить   тебя"), Some("убить тебя".into()));
    assert_eq!(lx.find("убить\nтебя"), Some("убить тебя".into()));
    assert_eq!(lx.find("убить время"), None);
}

#[test]
fn regex_lines_are_case_insensitive() {
    let lx = Lexicon::parse("вор\n/\\bсдохн(?:и|ите)\\b/\n").unwrap();
    assert_eq!(
        lx.find("СДОХНИТЕ все"),
        Some("/\\bсдохн(?:и|ите)\\b/".into())
    );
    assert_eq!(lx.find("сдохнет корова"), None);
}

#[test]
fn first_matching_entry_in_file_order() {
    let lx = Lexicon::parse("идиот\nдебил\n").unwrap();
    assert_eq!(lx.find("дебил и идиот"), Some("идиот".into()));
}

#[test]
fn parse_errors_carry_the_line() {
    let e = Lexicon::parse("ok\n\n/[unclosed/\n").unwrap_err();
    assert_eq!(e.line, 3);
    assert!(e.to_string().starts_with("line 3: "), "{e}");
    let e = Lexicon::parse("# c\n/abc\n").unwrap_err();
    assert_eq!(e.line, 2);
    let e = Lexicon::parse("//\n").unwrap_err();
    assert_eq!(e.line, 1);
    let e = Lexicon::parse("a\nя\n").unwrap_err();
    assert_eq!(e.line, 1);
    let e = Lexicon::parse("ok\n/x*/\n").unwrap_err();
    assert_eq!(
        e.line, 2,
        "a regex that matches the empty text matches every post"
    );
}

#[test]
fn empty_lexicon_matches_nothing() {
    let lx = Lexicon::parse("# nothing yet\n\n").unwrap();
    assert!(lx.is_empty());
    assert_eq!(lx.find("что угодно"), None);
}

/// Obscene, insulting and threatening posts: every one must be excluded.
const MUST_MATCH: &[&str] = &[
    "Да пошли вы нахуй со своим водопроводом",
    "Хуйня, а не ремонт дороги",
    "Администрация ни хуя не делает",
    "Нихуя не сделано за год",
    "Мне уже похуй на ваши обещания",
    "Охуели совсем, тариф опять подняли",
    "Пиздец какой-то, а не дорога",
    "Опять всё спиздили, бюджет распилили",
    "Ебаный стыд, а не администрация",
    "Заебали уже со своими отчётами",
    "Нас опять наебали с тарифами",
    "Глава — долбоёб",
    "Уёбки из администрации",
    "Блядь, когда уже дадут воду",
    "Бля, опять света нет",
    "Чиновники — бляди продажные",
    "Вы там все мудаки",
    "Пидорасы, верните деньги",
    "Сука, третий день без воды",
    "Глава района — урод и вор",
    "Дебилы в администрации не умеют считать",
    "Чиновники — мрази",
    "Эта тварь в кресле главы ничего не делает",
    "Сволочи, сколько можно",
    "Быдло у власти",
    "Я тебя убью, если не починишь дорогу",
    "Убить тебя мало за такую дорогу",
    "Сожгу вашу администрацию",
    "Взорву к чертям ваше здание",
    "Найду твою семью и всё им расскажу",
    "Пристрелю как собаку",
    "Готовьтесь, найдём тебя и поговорим",
    "Тебе не жить, глава",
    "Твои дети за это ответят",
    "Голову оторву этому чиновнику",
    "Сдохните все там в администрации",
    "Здание администрации заминировано",
    "Всех повесить на площади",
    "Зарежу, если ещё раз отключите воду",
    "Доберусь до тебя, так и знай",
    "Эта сучка из отдела не отвечает",
];

/// Ordinary municipal complaints, full of words that contain or resemble the roots above.
const MUST_NOT_MATCH: &[&str] = &[
    "С каждым годом дороги всё хуже и хуже",
    "Хулиганы разбили остановку",
    "Врач посоветовал похудеть, а спортзал закрыт",
    "Захудалый клуб не ремонтировали 20 лет",
    "Это оскорбление для ветеранов — такой памятник",
    "Прошу не оскорблять жителей отписками",
    "Употребление алкоголя у школы — кто следит?",
    "Подростки употребляют энергетики",
    "Кораблик на детской площадке сломан",
    "Проезд подорожал на 5 рублей, теперь 35 рубля за поездку",
    "У дома упала сосна",
    "Я пишу тебе, глава, потому что больше некому",
    "Хотим знать, куда пошли деньги для тебя и себя",
    "Людям страшно ходить, страх за детей",
    "Сукно на бильярде в ДК порвано",
    "Застрахуйте наконец школьные автобусы",
    "Страхование жилья от паводка — как оформить?",
    "Потребители жалуются на качество воды",
    "Общество потребления и потреблядство — это не про нас",
    "Хлебный магазин закрыли",
    "Требуем ремонта, требовать больше нечего",
    "Учебники в школу не привезли",
    "Ребёнок упал с горки, на небе ни облачка",
    "Лёд приходится скоблить вручную",
    "В поликлинике нет психолога и психиатра",
    "Бляха-муха, опять лужа, ну что за дела",
    "На ремне бляшка потерялась",
    "Педикюрный салон без лицензии",
    "Гондолы канатной дороги не работают",
    "Скотина ходит по дороге, пастуха нет",
    "Хлеб уродился хороший, а дорог нет вывезти урожай",
    "Сучья деревьев лежат на проводах",
    "Мандарины в школьной столовой гнилые",
    "Депутатский мандат не даёт права молчать",
    "Жидкое покрытие на дороге смылось",
    "Наши дети ходят в школу по темноте",
    "Убили весь день в очереди в МФЦ",
    "Дома холодно, как будто убить нас хотят морозом? Нет, просто котельная",
    "Сдохнет скотина без ветеринара",
    "Пристрелка оружия в тире мешает спать",
    "Чмокнула ребёнка и отправила в садик по грязи",
    "Недоумение вызывает ответ администрации",
    "Я найду управу на вашу контору через прокуратуру",
    "Ебург далеко, а у нас своя дорога",
];

#[test]
fn shipped_lexicon_excludes_obscenity_insults_threats() {
    let lx = shipped();
    let missed: Vec<&str> = MUST_MATCH
        .iter()
        .copied()
        .filter(|s| lx.find(s).is_none())
        .collect();
    assert!(missed.is_empty(), "not excluded: {missed:#?}");
}

#[test]
fn shipped_lexicon_leaves_ordinary_complaints_alone() {
    let lx = shipped();
    let hits: Vec<(&str, String)> = MUST_NOT_MATCH
        .iter()
        .filter_map(|s| lx.find(s).map(|e| (*s, e)))
        .collect();
    assert!(hits.is_empty(), "wrongly excluded: {hits:#?}");
}
