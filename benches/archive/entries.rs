//! The synthetic archive the archive bench and `examples/archive_memory.rs` measure: the
//! same 100,000 entries for both.

use otklik_core::archive::Entry;

/// A deterministic synthetic archive: posts from a few hundred words in the mix real ones
/// have (a village, a street, an object, what is wrong with it, some filler).
pub(crate) fn entries(n: usize) -> Vec<Entry> {
    stream(n).collect()
}

/// [`entries`] one at a time, as the store hands them over at start-up.
pub(crate) fn stream(n: usize) -> impl Iterator<Item = Entry> {
    let villages = [
        "Волчиха",
        "Берёзовка",
        "Малиновка",
        "Лебяжье",
        "Солоновка",
        "Вострово",
        "Бор-Форпост",
        "Усть-Волчиха",
        "Селиверстово",
        "Правда",
        "Новокормиха",
        "Пятковка",
    ];
    let streets = [
        "Ленина",
        "Мира",
        "Школьная",
        "Садовая",
        "Советская",
        "Набережная",
        "Молодёжная",
        "Заречная",
        "Новая",
        "Центральная",
        "Гагарина",
        "Кирова",
    ];
    let objects = [
        "труба",
        "водопровод",
        "фонари",
        "дорога",
        "мост",
        "школа",
        "детский сад",
        "котельная",
        "контейнеры",
        "остановка",
        "колодец",
        "крыша",
        "тротуар",
        "канава",
        "площадка",
        "аптека",
        "фельдшер",
        "автобус",
        "газопровод",
        "трансформатор",
    ];
    let faults = [
        "прорвало",
        "не работает",
        "сломан",
        "разрушен",
        "течёт",
        "не горят",
        "не вывозят",
        "затопило",
        "нет",
        "закрыли",
        "не чистят",
        "обещали и забыли",
    ];
    let fillers = [
        "уже неделю",
        "третий день",
        "сколько можно ждать",
        "примите меры",
        "дети",
        "пенсионеры",
        "администрация молчит",
        "звонили много раз",
        "весной",
        "зимой",
        "опять",
        "срочно",
    ];
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move |m: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % m as u64) as usize
    };
    (0..n).map(move |i| {
        let v = villages[next(villages.len())];
        let s = streets[next(streets.len())];
        let text = format!(
            "{} {} на улице {s} {}, {} {} слово{}",
            faults[next(faults.len())],
            objects[next(objects.len())],
            fillers[next(fillers.len())],
            objects[next(objects.len())],
            fillers[next(fillers.len())],
            next(5000),
        );
        Entry {
            id: format!("A-{i}"),
            topic: ["ЖКХ", "Дороги", "Образование", "Здравоохранение"][i % 4].into(),
            location: format!("с. {v}"),
            text,
            answer: "Ответ.".into(),
            date: None,
            executor: None,
        }
    })
}
