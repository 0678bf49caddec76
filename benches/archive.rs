//! The archive of earlier answers at 100,000 entries: adding one entry to the index, one
//! query, and building the index from scratch (what start-up does). Goals: add ≤ 5 ms,
//! query ≤ 10 ms, build ≤ 300 ms. `cargo bench --bench archive`.

use criterion::{BatchSize, Criterion, criterion_main};
use otklik_core::archive::{Archive, Entry, Query};

#[path = "archive/entries.rs"]
mod entries;
use entries::entries;

const N: usize = 100_000;

/// The archive as start-up leaves it: built, then its stems and postings frozen into
/// arenas (as read from a snapshot).
fn build(entries: &[Entry]) -> Archive {
    let mut a = Archive::new();
    for e in entries {
        a.add(e.clone());
    }
    a.shrink_to_fit();
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
                a.shrink_to_fit();
                a
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

// criterion_group! defines an undocumented `pub fn benches`.
mod group {
    #![allow(missing_docs, unreachable_pub)]
    use super::bench;
    criterion::criterion_group!(benches, bench);
}
use group::benches;
criterion_main!(benches);
