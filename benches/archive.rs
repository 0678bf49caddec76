//! The archive of earlier answers at 100,000 entries: adding one entry to the index, one
//! query, and building the index from scratch (what start-up does). Goals: add ≤ 5 ms,
//! query ≤ 10 ms, build ≤ 300 ms. `cargo bench --bench archive`.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use otklik_core::archive::{Archive, Entry, Query};

const N: usize = 100_000;

/// A deterministic synthetic archive: posts from a few hundred words in the mix real ones
/// have (a village, a street, an object, what is wrong with it, some filler).
fn entries(n: usize) -> Vec<Entry> {
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
    let mut next = |m: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % m as u64) as usize
    };
    (0..n)
        .map(|i| {
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
        .collect()
}

fn build(entries: &[Entry]) -> Archive {
    let mut a = Archive::new();
    for e in entries {
        a.add(e.clone());
    }
    a
}

fn bench(c: &mut Criterion) {
    let all = entries(N + 1000);
    let (base, extra) = all.split_at(N);
    let mut archive = build(base);
    let query = Query {
        text: "На улице Ленина прорвало трубу водопровода, вода течёт уже неделю, примите меры"
            .into(),
        topic: "ЖКХ".into(),
        location: "с. Берёзовка".into(),
    };
    c.bench_function("archive query, 100k entries", |b| {
        b.iter(|| std::hint::black_box(archive.similar(&query, 4)))
    });
    let mut i = 0;
    c.bench_function("archive add one entry, 100k entries", |b| {
        b.iter(|| {
            let mut e = extra[i % extra.len()].clone();
            e.id = format!("B-{i}");
            i += 1;
            archive.add(e);
        })
    });
    let mut group = c.benchmark_group("archive start-up");
    group.sample_size(10);
    group.bench_function("build the index from 100k entries", |b| {
        b.iter_batched(
            || base.to_vec(),
            |v| {
                let mut a = Archive::new();
                for e in v {
                    a.add(e);
                }
                a
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
