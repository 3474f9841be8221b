//! The keyset planner against an in-memory SalesLoft that changes between any two requests.
//!
//! The property: a record that exists when the walk starts and is not touched during it is emitted exactly
//! once, whatever the tie-group sizes, the changes (updates, deletes, creates, batches of updates stamped at
//! one instant) and the order in which equal timestamps come back (by id, reversed, a fixed shuffle, or a new
//! shuffle on every request).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use proptest::prelude::*;
use time::OffsetDateTime;

use super::plan::{Cursor, KeysetPlan, PageFacts, PageQuery};
use super::window::RecordKey;
use crate::Error;
use crate::models::{SortDirection, Timestamp};

/// How the fake orders records that share one `updated_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TieOrder {
    ById,
    ByIdDescending,
    /// A fixed shuffle (a hash of the id).
    Shuffled,
    /// A new shuffle on every request (a database without a tie-breaker).
    ShuffledPerRequest,
}

/// A small deterministic generator (xorshift), so a failing case replays.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
}

fn micros_of(t: &Timestamp) -> i64 {
    i64::try_from((t.datetime().unix_timestamp_nanos() - 1_704_067_200_000_000_000) / 1_000).expect("test instant")
}

fn instant(micros: i64) -> Timestamp {
    let at = OffsetDateTime::from_unix_timestamp_nanos(1_704_067_200_000_000_000 + i128::from(micros) * 1_000)
        .expect("test instant");
    Timestamp::from_datetime(at)
}

struct FakeSalesloft {
    /// id → `updated_at` in microseconds.
    records: BTreeMap<i64, i64>,
    /// (`updated_at`, id), for range reads.
    by_time: BTreeSet<(i64, i64)>,
    next_id: i64,
    /// The server clock in microseconds: changes are stamped with it.
    now: i64,
    order: TieOrder,
    rng: Rng,
    requests: u64,
    max_page: u32,
}

impl FakeSalesloft {
    fn answer(&mut self, query: &PageQuery) -> (PageFacts, Vec<RecordKey>) {
        self.requests += 1;
        self.max_page = self.max_page.max(query.page);
        let parse = |t: &str| micros_of(&Timestamp::parse(t).expect("fake: RFC 3339 filter"));
        let lower = match &query.lower {
            Some((t, true)) => parse(t).saturating_add(1),
            Some((t, false)) => parse(t),
            None => i64::MIN,
        };
        let upper = query.upper.as_deref().map_or(i64::MAX, parse);
        let salt = self.rng.next();
        if lower > upper {
            let facts = PageFacts {
                per_page: Some(query.per_page),
                total_count: query.counts.then_some(0),
                next_page_null: true,
                next_page_announced: false,
                server_time: Some(instant(self.now).datetime()),
            };
            return (facts, Vec::new());
        }
        let mut rows: Vec<(i64, u64, i64)> = self
            .by_time
            .range((lower, i64::MIN)..=(upper, i64::MAX))
            .map(|&(at, id)| {
                let tie = match self.order {
                    TieOrder::ById => id as u64,
                    TieOrder::ByIdDescending => u64::MAX - id as u64,
                    TieOrder::Shuffled => (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17),
                    TieOrder::ShuffledPerRequest => (id as u64 ^ salt).wrapping_mul(0x9E37_79B9_7F4A_7C15),
                };
                (at, tie, id)
            })
            .collect();
        rows.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        if query.direction == SortDirection::Desc {
            rows.reverse();
        }
        let per_page = query.per_page.clamp(1, 100) as usize;
        let start = (query.page as usize - 1) * per_page;
        let page: Vec<RecordKey> = rows
            .iter()
            .skip(start)
            .take(per_page)
            .map(|(at, _, id)| RecordKey { id: *id, updated_at: instant(*at) })
            .collect();
        let facts = PageFacts {
            per_page: Some(per_page as u32),
            total_count: query.counts.then_some(rows.len() as u64),
            next_page_null: start + per_page >= rows.len(),
            next_page_announced: start + per_page < rows.len(),
            server_time: Some(instant(self.now).datetime()),
        };
        (facts, page)
    }

    fn insert(&mut self, id: i64, at: i64) {
        self.records.insert(id, at);
        self.by_time.insert((at, id));
    }

    fn remove(&mut self, id: i64) {
        if let Some(at) = self.records.remove(&id) {
            self.by_time.remove(&(at, id));
        }
    }

    /// Up to `max` random changes; returns the ids touched.
    fn change(&mut self, max: u64, touched: &mut HashSet<i64>) {
        let changes = self.rng.below(max + 1);
        // The clock moves between requests, so a change never lands on an instant a request has already
        // seen (SalesLoft stamps with its clock; a batch stamped at one instant commits at once).
        self.now += 1;
        // A batch of updates shares one instant half of the time (a bulk update).
        let batch = self.rng.below(2) == 0;
        for _ in 0..changes {
            if !batch || self.rng.below(4) == 0 {
                self.now += 1 + self.rng.below(3) as i64;
            }
            let pick = self.records.keys().nth(self.rng.below(self.records.len() as u64) as usize).copied();
            match (self.rng.below(3), pick) {
                (0, Some(id)) => {
                    touched.insert(id);
                    self.remove(id);
                    self.insert(id, self.now);
                }
                (1, Some(id)) => {
                    touched.insert(id);
                    self.remove(id);
                }
                _ => {
                    self.next_id += 1;
                    self.insert(self.next_id, self.now);
                }
            }
        }
    }
}

struct Scenario {
    groups: Vec<u32>,
    per_page: u32,
    order: TieOrder,
    margin_secs: u64,
    /// The most time between two seeded groups, in microseconds.
    gap_micros: u64,
    /// The server clock's distance past the newest seeded record, in seconds.
    lead_secs: i64,
    max_changes: u64,
    windows: bool,
    seed: u64,
}

struct Outcome {
    emitted: Vec<i64>,
    untouched: HashSet<i64>,
    touched: HashSet<i64>,
    requests: u64,
    max_page: u32,
}

fn run(s: &Scenario) -> Result<Outcome, Error> {
    let mut fake = FakeSalesloft {
        records: BTreeMap::new(),
        by_time: BTreeSet::new(),
        next_id: 0,
        now: 0,
        order: s.order,
        rng: Rng(s.seed | 1),
        requests: 0,
        max_page: 0,
    };
    let mut micros = 0_i64;
    for &size in &s.groups {
        micros += 1 + fake.rng.below(s.gap_micros.max(1)) as i64;
        for _ in 0..size {
            fake.next_id += 1;
            fake.insert(fake.next_id, micros);
        }
    }
    fake.now = micros + s.lead_secs * 1_000_000;
    let initial: HashSet<i64> = fake.records.keys().copied().collect();
    let margin = s.windows.then(|| std::time::Duration::from_secs(s.margin_secs));
    let mut plan = KeysetPlan::new(Cursor::default(), s.per_page, false, margin);
    let mut touched = HashSet::new();
    let mut emitted = Vec::new();
    while let Some(query) = plan.next_request()? {
        assert!(fake.requests < 200_000, "the walk does not end");
        fake.change(s.max_changes, &mut touched);
        let (facts, page) = fake.answer(&query);
        for index in plan.observe(&query, facts, &page)? {
            emitted.push(page[index].id);
        }
    }
    let untouched = initial.difference(&touched).copied().collect();
    Ok(Outcome { emitted, untouched, touched, requests: fake.requests, max_page: fake.max_page })
}

fn check_exactly_once(outcome: &Outcome) -> Result<(), String> {
    let mut counts: HashMap<i64, u32> = HashMap::new();
    for id in &outcome.emitted {
        *counts.entry(*id).or_default() += 1;
    }
    let missing: Vec<i64> = outcome.untouched.iter().filter(|id| !counts.contains_key(id)).copied().collect();
    let doubled: Vec<i64> =
        counts.iter().filter(|(id, n)| **n > 1 && !outcome.touched.contains(id)).map(|(id, _)| *id).collect();
    if missing.is_empty() && doubled.is_empty() {
        Ok(())
    } else {
        Err(format!("untouched records missing: {missing:?}; emitted twice without a change: {doubled:?}"))
    }
}

fn tie_order() -> impl Strategy<Value = TieOrder> {
    prop_oneof![
        Just(TieOrder::ById),
        Just(TieOrder::ByIdDescending),
        Just(TieOrder::Shuffled),
        Just(TieOrder::ShuffledPerRequest),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// The scenario in miniature, with every knob random.
    #[test]
    fn untouched_records_are_emitted_exactly_once(
        groups in prop::collection::vec(prop_oneof![3 => 1_u32..5, 2 => 90_u32..260, 1 => 1_u32..=500], 1..24),
        per_page in prop_oneof![3 => Just(100_u32), 1 => 5_u32..100],
        order in tie_order(),
        margin_secs in 0_u64..120,
        gap_micros in prop_oneof![Just(1_u64), 1_u64..2_000_000, 1_u64..100_000_000],
        lead_secs in 0_i64..150,
        max_changes in 0_u64..4,
        windows in prop::bool::weighted(0.8),
        seed in any::<u64>(),
    ) {
        let scenario =
            Scenario { groups, per_page, order, margin_secs, gap_micros, lead_secs, max_changes, windows, seed };
        let outcome = run(&scenario).map_err(|e| TestCaseError::fail(format!("walk failed: {e}")))?;
        check_exactly_once(&outcome).map_err(TestCaseError::fail)?;
        prop_assert!(outcome.max_page <= 100, "asked for page {}", outcome.max_page);
    }
}

/// The independent report's case: 20 000 people in groups of 250 (and 500) sharing one `updated_at`,
/// about 500 updates and deletes while the walk runs. It lost 2–9 records at positions 100 and 200 of a
/// group before the tie groups were read with checked counts.
#[test]
fn twenty_thousand_in_tie_groups_with_changes_lose_nothing() {
    for (size, order) in [(250, TieOrder::ById), (500, TieOrder::Shuffled), (250, TieOrder::ShuffledPerRequest)] {
        for seed in 1..=2 {
            let scenario = Scenario {
                groups: vec![size; 20_000 / size as usize],
                per_page: 100,
                order,
                margin_secs: 60,
                gap_micros: 2_000_000,
                lead_secs: 90,
                max_changes: 5,
                windows: true,
                seed,
            };
            let outcome = run(&scenario).expect("walk");
            assert!(outcome.touched.len() > 300, "the scenario changes records: {}", outcome.touched.len());
            check_exactly_once(&outcome).unwrap_or_else(|e| panic!("groups of {size}, {order:?}, seed {seed}: {e}"));
        }
    }
}

/// Cost with ties and nothing changing: within 1.05 × ⌈N/100⌉ for groups of 150, 250 and 500 (and 1).
#[test]
fn tie_groups_cost_about_one_request_per_hundred_records() {
    for size in [1_u32, 150, 250, 500] {
        let scenario = Scenario {
            groups: vec![size; (20_000 / size) as usize],
            per_page: 100,
            order: TieOrder::ById,
            margin_secs: 60,
            gap_micros: 10_000_000,
            lead_secs: 3_600,
            max_changes: 0,
            windows: true,
            seed: 7,
        };
        let outcome = run(&scenario).expect("walk");
        check_exactly_once(&outcome).expect("exactly once");
        let floor = (outcome.untouched.len() as u64).div_ceil(100);
        assert!(
            outcome.requests * 100 <= floor * 105,
            "groups of {size}: {} requests for {} records (floor {floor})",
            outcome.requests,
            outcome.untouched.len()
        );
    }
}
