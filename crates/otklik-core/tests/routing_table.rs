//! The shipped example configuration routes by Appendix 2 of the regulation: a table of
//! realistic notifications (topic, location, text), each to the executor the decree names
//! for that competence, run through the same decision the service makes on intake
//! (`workflow::classify`). Every executor appears at least three times, with look-alikes
//! that a careless rule would send elsewhere ("Физическая культура и спорт" is sport, not
//! culture; a sports club is sport; road and school safety are not civil defence).
mod fixtures;

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use otklik_core::config::SecretCheck;
use otklik_core::intake::Notification;
use otklik_core::workflow::{self, Classification};

/// (topic, location, text, executor) — `-` for "nobody: the coordinator decides".
const TABLE: &[(&str, &str, &str, &str)] = &[
    // 1. Economy and municipal property.
    (
        "Экономика",
        "с. Волчиха",
        "Когда откроют новый магазин?",
        "economy",
    ),
    (
        "Торговля / Цены",
        "с. Малышев Лог",
        "Цены в магазине выше, чем в городе.",
        "economy",
    ),
    (
        "Предпринимательство",
        "с. Волчиха",
        "Как получить поддержку малому бизнесу?",
        "economy",
    ),
    (
        "Земельные отношения",
        "с. Селиверстово",
        "Третий месяц не оформляют участок.",
        "economy",
    ),
    (
        "Муниципальное имущество",
        "с. Волчиха",
        "Пустует здание бывшей конторы.",
        "economy",
    ),
    (
        "Прочее",
        "с. Вострово",
        "Аренда земельного участка под огород подорожала.",
        "economy",
    ),
    (
        "Занятость населения",
        "с. Коминтерн",
        "Где найти работу в районе?",
        "economy",
    ),
    // 2. Housing and utilities, town planning.
    (
        "ЖКХ / Водоснабжение",
        "с. Волчиха, ул. Свердлова",
        "Третий день нет воды.",
        "housing",
    ),
    (
        "ЖКХ",
        "с. Малышев Лог",
        "Холодные батареи в доме.",
        "housing",
    ),
    (
        "Благоустройство",
        "с. Волчиха, парк",
        "Сломаны скамейки в парке.",
        "housing",
    ),
    (
        "Дороги",
        "трасса Волчиха — Михайловское",
        "Яма на дороге, пробил колесо.",
        "housing",
    ),
    (
        "Безопасность / Дорожное движение",
        "с. Волчиха",
        "Нет пешеходного перехода у рынка.",
        "housing",
    ),
    (
        "Транспорт",
        "с. Вострово",
        "Отменили утренний автобус в Волчиху.",
        "housing",
    ),
    (
        "Мусор / ТКО",
        "с. Правда",
        "Контейнеры не вывозят две недели.",
        "housing",
    ),
    (
        "Прочее",
        "с. Волчиха",
        "Отключили свет на всей улице.",
        "housing",
    ),
    (
        "Градостроительство",
        "с. Волчиха",
        "Кто разрешил стройку во дворе?",
        "housing",
    ),
    (
        "Уличное освещение",
        "с. Бор-Форпост",
        "На улице не горят фонари.",
        "housing",
    ),
    // 3. Administrative affairs.
    (
        "Органы власти",
        "с. Волчиха",
        "Никто не отвечает на звонки в администрации.",
        "affairs",
    ),
    (
        "Работа администрации",
        "с. Селиверстово",
        "Глава сельсовета не ведёт приём.",
        "affairs",
    ),
    (
        "Муниципальная служба",
        "с. Волчиха",
        "Как попасть на приём к главе района?",
        "affairs",
    ),
    (
        "Обращения граждан",
        "с. Волчиха",
        "Жалоба осталась без ответа месяц.",
        "affairs",
    ),
    // 4. Archive.
    (
        "Архив",
        "с. Волчиха",
        "Нужна справка о стаже в колхозе.",
        "archive",
    ),
    (
        "Архивные справки",
        "с. Усть-Волчиха",
        "Сколько ждать архивную справку?",
        "archive",
    ),
    (
        "Прочее",
        "с. Волчиха",
        "Как подтвердить стаж для пенсии? Где архив совхоза?",
        "archive",
    ),
    // 5. Agro-industrial complex.
    (
        "Сельское хозяйство",
        "с. Солоновка",
        "Фермерам не выплатили компенсацию.",
        "agro",
    ),
    ("АПК", "с. Волчиха", "Когда начнётся уборка урожая?", "agro"),
    (
        "Животноводство",
        "с. Рогозиха",
        "Падёж скота на ферме.",
        "agro",
    ),
    (
        "Прочее",
        "с. Пятков Лог",
        "Коровы пасутся на посевах соседей.",
        "agro",
    ),
    (
        "Ветеринария",
        "с. Волчиха",
        "Нет ветеринара в селе.",
        "agro",
    ),
    // 6. Finance, tax and credit policy.
    (
        "Финансы",
        "с. Волчиха",
        "Куда ушли деньги на ремонт клуба?",
        "finance",
    ),
    (
        "Налоги / Транспортный налог",
        "с. Волчиха",
        "Пришёл налог за проданную машину.",
        "finance",
    ),
    (
        "Бюджет",
        "с. Коминтерн",
        "Почему сократили бюджет поселения?",
        "finance",
    ),
    (
        "Прочее",
        "с. Волчиха",
        // Which subsidy says who answers (on milk: agriculture; for a business: the
        // economy department): the row names the one the finance committee pays.
        "Не дали субсидию на оплату коммунальных услуг, хотя все документы сданы.",
        "finance",
    ),
    // 7. Education and youth affairs.
    (
        "Образование",
        "с. Волчиха, СОШ № 1",
        "В школе холодно, дети сидят в куртках.",
        "education",
    ),
    (
        "Образование / Детские сады",
        "с. Малышев Лог",
        "Нет мест в детском саду.",
        "education",
    ),
    (
        "Безопасность в школах",
        "с. Волчиха, СОШ № 2",
        "Нет охраны на входе в школу.",
        "education",
    ),
    (
        "Молодёжная политика",
        "с. Волчиха",
        "Для молодёжи в селе ничего нет.",
        "education",
    ),
    (
        "Прочее",
        "с. Вострово",
        "Учителя уходят, некому вести уроки.",
        "education",
    ),
    (
        "Образование / Школьный автобус",
        "с. Берёзовский",
        "Школьный автобус не пришёл.",
        "education",
    ),
    // 8. Culture.
    (
        "Культура",
        "с. Волчиха, районный ДК",
        "Отменили концерт без объяснений.",
        "culture",
    ),
    (
        "Культура / Библиотеки",
        "с. Правда",
        "Закрыли сельскую библиотеку.",
        "culture",
    ),
    (
        "Музеи",
        "с. Волчиха",
        "Когда откроется краеведческий музей?",
        "culture",
    ),
    (
        "Прочее",
        "с. Селиверстово",
        "В сельском клубе нет ни одного кружка для детей.",
        "culture",
    ),
    (
        "Досуг",
        "с. Волчиха",
        "Чем заняться вечером в райцентре?",
        "culture",
    ),
    // 10. Physical culture and sport.
    (
        "Физическая культура и спорт",
        "с. Волчиха, стадион",
        "Стадион закрыт на всё лето.",
        "sport",
    ),
    (
        "Спорт",
        "с. Малышев Лог",
        "Нет тренера по футболу.",
        "sport",
    ),
    (
        "Прочее",
        "с. Волчиха",
        "Хоккейный клуб остался без льда.",
        "sport",
    ),
    (
        "Прочее",
        "с. Вострово",
        "Спортивный клуб для подростков закрыли.",
        "sport",
    ),
    (
        "Образование / Спортивная школа",
        "с. Волчиха",
        "В спортшколе течёт крыша.",
        "sport",
    ),
    ("Прочее", "с. Волчиха", "Зимой не заливают каток.", "sport"),
    ("ГТО", "с. Волчиха", "Где сдать нормы ГТО?", "sport"),
    // 9. Legal department.
    (
        "Правовые вопросы",
        "с. Волчиха",
        "Администрация нарушает мои права.",
        "legal",
    ),
    (
        "Юридическая помощь",
        "с. Рогозиха",
        "Где получить бесплатную консультацию юриста?",
        "legal",
    ),
    (
        "Законность",
        "с. Волчиха",
        "Незаконно снесли гараж.",
        "legal",
    ),
    (
        "Прочее",
        "с. Бор-Форпост",
        "Подам в суд на администрацию, сколько можно.",
        "legal",
    ),
    // 11. Civil defence, emergencies and mobilisation.
    (
        "ЧС / Пожары",
        "с. Волчиха",
        "Горит сухая трава за селом.",
        "emergency",
    ),
    (
        "Паводок",
        "с. Усть-Волчиха",
        "Подтопило дворы на нижней улице.",
        "emergency",
    ),
    (
        "Безопасность",
        "с. Волчиха",
        "Где укрыться при тревоге?",
        "emergency",
    ),
    (
        "Гражданская оборона",
        "с. Волчиха",
        "Где в селе бомбоубежище?",
        "emergency",
    ),
    (
        "Мобилизация",
        "с. Волчиха",
        "Куда обращаться по повестке?",
        "emergency",
    ),
    (
        "Прочее",
        "с. Малышев Лог",
        "Сильный пожар, горит дом, пожарных нет.",
        "emergency",
    ),
    (
        "Пожарная безопасность",
        "с. Коминтерн",
        "Нет пожарного водоёма.",
        "emergency",
    ),
    // Nobody: no competence recognised, the coordinator assigns.
    ("Прочее", "с. Волчиха", "Спасибо всем, кто помог.", "-"),
];

#[test]
fn the_example_config_routes_by_appendix_2() {
    let path = fixtures::root().join("config/otklik.toml");
    let text = String::from_utf8(fixtures::read("config/otklik.toml")).unwrap();
    let config = match fixtures::load_str(&text, &path, SecretCheck::Lenient) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    let detected = Utc.with_ymd_and_hms(2026, 12, 1, 3, 0, 0).unwrap();
    let mut wrong = Vec::new();
    let mut left_with_right_suggestion = 0;
    let mut left_with_other_suggestion = Vec::new();
    let mut per_executor: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, (topic, location, body, expected)) in TABLE.iter().enumerate() {
        let n = Notification {
            source_id: Some(format!("{}", 9000 + i)),
            topic: Some(topic.to_string()),
            location: Some(location.to_string()),
            category: Some("Средняя".into()),
            source: Some("ВКонтакте".into()),
            link: Some(format!("https://vk.com/wall-1_{i}")),
            author: Some(format!("Житель {i}")),
            detected_at: detected,
            text: body.to_string(),
            repeat: false,
            attachments: vec![],
            warnings: vec![],
        };
        let got = match workflow::classify(&config, &n, None) {
            Classification::Routed { executor, rule, .. } => format!("{executor} ({rule})"),
            Classification::Modelled {
                executor,
                confidence,
                top_words,
                ..
            } => format!(
                "{executor} (model {} %: {})",
                confidence.percent(),
                top_words.join(", ")
            ),
            // Left to the coordinator: right when the model's first suggestion (her
            // one-click button) is the executor (see below).
            Classification::Unmatched { suggestions, .. } => match suggestions.first() {
                Some(s) if *expected != "-" && s.executor == *expected => {
                    left_with_right_suggestion += 1;
                    format!("{} (left to the coordinator, suggested first)", s.executor)
                }
                Some(s) => format!("- (suggested {} {} %)", s.executor, s.probability.percent()),
                None => "-".into(),
            },
            other => format!("{other:?}"),
        };
        let got_id = got.split(' ').next().unwrap_or("");
        if got_id == "-" && *expected != "-" {
            left_with_other_suggestion
                .push(format!("{topic} | {body} → {got}, expected {expected}"));
        } else if got_id != *expected {
            wrong.push(format!("{topic} | {body} → {got}, expected {expected}"));
        }
        *per_executor.entry(expected).or_default() += 1;
    }
    assert!(wrong.is_empty(), "misrouted:\n{}", wrong.join("\n"));
    // Left to the coordinator with another first suggestion: no harm done (she assigns),
    // but it should be rare. With the topic read by the model rather than by rules, one
    // row («Безопасность в школах | Нет охраны на входе в школу.») is.
    assert!(
        left_with_other_suggestion.len() <= 2,
        "left with another first suggestion:\n{}",
        left_with_other_suggestion.join("\n")
    );
    // Rules and the confident model route nearly all; a post whose topic says nothing may
    // be left to the coordinator, with the right executor as her first suggestion.
    assert!(
        left_with_right_suggestion <= 8,
        "{left_with_right_suggestion} left"
    );
    assert!(TABLE.len() >= 60, "{} rows", TABLE.len());
    for e in &config.executors {
        let n = per_executor.get(e.id.as_str()).copied().unwrap_or(0);
        assert!(n >= 3, "{} appears {n} times", e.id);
    }
    // The decree has one answer deadline for every post: no category shortens it.
    assert!(config.deadlines.categories.is_empty());
}
