//! `slprod budget`: does the declared volume fit the team's SalesLoft budget at its busiest minute?
//!
//! The budget is 600 cost per minute for the whole team (FACTS.md §2.1), less the `budget.reserve_pct` kept
//! for the team's other integrations. The cost model is the one this tool's client achieves, measured by the
//! benchmarks in the README:
//! - an upserted person costs ≈ 1.01: one create or update, plus a share of one lookup per 100 emails
//!   (`bench_upsert_cost`, `slprod demo`: 1.010 per row);
//! - N records read cost ⌈N/100⌉: keyset windows of 100 records a page, never a page past 100
//!   (`bench_read_cost`: 1.006× that floor).
//!
//! It also prints what the day's upserts cost as one bulk job (`slprod push --bulk`, the default from 1 000
//! rows): ⌈N/5 000⌉ uploads + 2 job calls (create, mark ready) + the polls + ⌈N/100⌉ result pages
//! ([`salesloft_client::bulk_upsert::estimated_calls`]). That is an **estimate built on unconfirmed costs**
//! (FACTS.md §12: the cost of the bulk routes and SalesLoft's processing rate are not documented; it assumes 1
//! per request, as the simulator charges, and 1 000 records/s for the polls). The verdict stays on the
//! row-by-row cost, which is confirmed.
//!
//! For comparison it prints what a client that walks `page=1,2,3…` through the same records would pay under
//! the deep-page prices (FACTS.md §2.2: pages 101–150 cost 3, 151–250 cost 8, 251–500 cost 10, beyond 30).
//!
//! The busiest minute is the day's cost × `peak_hour_share` / 60: work spread evenly inside the peak hour.
//! Exit 0 when it fits, 1 when it does not, 2 when the volume is not declared or makes no sense.

use clap::Args;
use salesloft_client::api::bulk_jobs::MAX_RECORDS_PER_UPLOAD;
use salesloft_client::bulk_upsert::{ASSUMED_RECORDS_PER_SECOND, BulkUpsertConfig, estimated_calls};
use salesloft_client::transport::page_cost;
use serde_json::json;

use super::Context;
use crate::error::{CliError, Outcome, Status};

/// Cost of one upserted person (see the module docs).
pub const COST_PER_UPSERT: f64 = 1.01;
/// Records per page (SalesLoft's largest `per_page`, FACTS.md §4.1).
pub const RECORDS_PER_PAGE: u64 = 100;
/// The default `peak_hour_share` (CONFIG.md).
pub const DEFAULT_PEAK_HOUR_SHARE: f64 = 0.25;

/// Arguments of `slprod budget`; each overrides the configuration file's `[volume]` / `[budget]` key.
#[derive(Debug, Args)]
pub struct BudgetArgs {
    /// People upserted per day [default: volume.people_upserts_per_day].
    #[arg(long)]
    pub people_upserts_per_day: Option<u64>,
    /// Records read per day [default: volume.records_read_per_day].
    #[arg(long)]
    pub records_read_per_day: Option<u64>,
    /// Fraction of a day's work done in its busiest hour, 1/24 to 1 [default: volume.peak_hour_share, or 0.25].
    #[arg(long)]
    pub peak_hour_share: Option<f64>,
    /// The team's SalesLoft budget per minute [default: budget.cost_per_minute, or 600].
    #[arg(long)]
    pub cost_per_minute: Option<u32>,
    /// Percent of the budget kept for the team's other integrations [default: budget.reserve_pct, or 0].
    #[arg(long)]
    pub reserve_pct: Option<u8>,
}

/// The figures `slprod budget` prints.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// Cost of the day's upserts.
    pub upsert_cost_per_day: f64,
    /// Cost of the day's reads, keyset (this tool).
    pub read_cost_per_day: f64,
    /// Cost of the day's reads for a client walking pages.
    pub page_walk_read_cost_per_day: f64,
    /// Cost in the busiest minute, this tool.
    pub peak_minute_cost: f64,
    /// Cost in the busiest minute for a page-walking client.
    pub page_walk_peak_minute_cost: f64,
    /// What we may spend per minute: the budget less the reserve.
    pub usable_per_minute: f64,
    /// Cost of the day's upserts as one bulk job (estimate on unconfirmed costs, FACTS.md §12).
    pub bulk_upsert_cost_per_day: f64,
    /// Cost in the busiest minute with the upserts as a bulk job.
    pub bulk_peak_minute_cost: f64,
}

impl Estimate {
    /// Usable minus the busiest minute (negative: it does not fit).
    pub fn headroom(&self) -> f64 {
        self.usable_per_minute - self.peak_minute_cost
    }

    /// Whether the busiest minute fits the usable budget.
    pub fn fits(&self) -> bool {
        self.peak_minute_cost <= self.usable_per_minute
    }
}

/// Cost of upserting `people` as one bulk job (see the module docs: an estimate on unconfirmed costs).
pub fn bulk_upsert_cost(people: u64) -> f64 {
    let config = BulkUpsertConfig::default();
    f64::from(estimated_calls(people, MAX_RECORDS_PER_UPLOAD as u64, ASSUMED_RECORDS_PER_SECOND, &config).total())
}

/// Cost of reading `records` by walking pages of 100 from page 1 (FACTS.md §2.2).
pub fn page_walk_cost(records: u64) -> f64 {
    let pages = records.div_ceil(RECORDS_PER_PAGE);
    // Closed form per price band, so a billion records costs no loop of ten million pages.
    const BANDS: [(u64, u64); 5] = [(1, 100), (101, 150), (151, 250), (251, 500), (501, u64::MAX)];
    BANDS
        .iter()
        .filter(|(first, _)| pages >= *first)
        .map(|&(first, last)| (pages.min(last) - first + 1) as f64 * f64::from(page_cost(first)))
        .fold(0.0, |total, band| total + band)
}

/// The estimate for a day of `upserts` people and `reads` records, `share` of it in the busiest hour, against
/// `limit` per minute less `reserve_pct` percent.
pub fn estimate(upserts: u64, reads: u64, share: f64, limit: u32, reserve_pct: u8) -> Estimate {
    let upsert_cost_per_day = upserts as f64 * COST_PER_UPSERT;
    let bulk_upsert_cost_per_day = bulk_upsert_cost(upserts);
    let read_cost_per_day = reads.div_ceil(RECORDS_PER_PAGE) as f64;
    let page_walk_read_cost_per_day = page_walk_cost(reads);
    let per_peak_minute = |day: f64| day * share / 60.0;
    // The reserve is rounded up, as the client's budget rounds it: never spend a unit the team set aside.
    let reserve = (u64::from(limit) * u64::from(reserve_pct)).div_ceil(100) as f64;
    Estimate {
        upsert_cost_per_day,
        read_cost_per_day,
        page_walk_read_cost_per_day,
        peak_minute_cost: per_peak_minute(upsert_cost_per_day + read_cost_per_day),
        page_walk_peak_minute_cost: per_peak_minute(upsert_cost_per_day + page_walk_read_cost_per_day),
        usable_per_minute: f64::from(limit) - reserve,
        bulk_upsert_cost_per_day,
        bulk_peak_minute_cost: per_peak_minute(bulk_upsert_cost_per_day + read_cost_per_day),
    }
}

/// Runs `slprod budget`: fits (0), does not fit (1), nothing to judge (2).
pub fn run(args: BudgetArgs, context: &Context) -> Result<Outcome, CliError> {
    let config = &context.config;
    let upserts = args.people_upserts_per_day.or(config.volume.people_upserts_per_day);
    let reads = args.records_read_per_day.or(config.volume.records_read_per_day);
    if upserts.is_none() && reads.is_none() {
        return Err(CliError::Input(
            "no volume declared: pass --people-upserts-per-day and/or --records-read-per-day, or set [volume] in \
             the configuration file"
                .into(),
        ));
    }
    let (upserts, reads) = (upserts.unwrap_or(0), reads.unwrap_or(0));
    let share = args.peak_hour_share.or(config.volume.peak_hour_share).unwrap_or(DEFAULT_PEAK_HOUR_SHARE);
    // The busiest hour holds at least an even hour's share of the day, and at most all of it.
    if !(1.0 / 24.0..=1.0).contains(&share) {
        return Err(CliError::Input(format!(
            "peak_hour_share must be between 1/24 (an even day, 0.0417) and 1 (all in one hour), not {share}"
        )));
    }
    let limit = args.cost_per_minute.or(config.budget.cost_per_minute).unwrap_or(600);
    if limit == 0 {
        return Err(CliError::Input("cost_per_minute must be positive".into()));
    }
    let reserve_pct = args.reserve_pct.or(config.budget.reserve_pct).unwrap_or(0);
    if reserve_pct > 99 {
        return Err(CliError::Input(format!("reserve_pct must be 0 to 99, not {reserve_pct}")));
    }
    let e = estimate(upserts, reads, share, limit, reserve_pct);
    let verdict = if e.fits() { "fits" } else { "does NOT fit" };
    let text = format!(
        "declared volume: {upserts} people upserted and {reads} records read per day, {pct:.1} % of it in the busiest \
         hour\n\
         cost per day: {up:.0} for upserts (≈ {COST_PER_UPSERT} each) + {rd:.0} for reads (⌈N/100⌉) = {day:.0}\n\
         busiest minute: {peak:.1} of {usable:.0} usable per minute ({limit} less a {reserve_pct} % reserve): \
         {verdict}, headroom {head:.1} ({head_pct:.0} %)\n{bulk_line}{walk_line}",
        pct = share * 100.0,
        up = e.upsert_cost_per_day,
        rd = e.read_cost_per_day,
        day = e.upsert_cost_per_day + e.read_cost_per_day,
        peak = e.peak_minute_cost,
        usable = e.usable_per_minute,
        head = e.headroom(),
        head_pct = 100.0 * e.headroom() / e.usable_per_minute,
        bulk_line = if upserts == 0 {
            String::new()
        } else {
            format!(
                "as one bulk job (push --bulk) the upserts would cost {:.0} (⌈N/5000⌉ uploads + 2 job calls + polls + \
                 ⌈N/100⌉ result pages), {:.1} in the busiest minute ({}): an estimate built on unconfirmed costs \
                 (FACTS.md §12)\n",
                e.bulk_upsert_cost_per_day,
                e.bulk_peak_minute_cost,
                if e.bulk_peak_minute_cost <= e.usable_per_minute { "fits" } else { "does NOT fit" }
            )
        },
        walk_line = if reads == 0 {
            String::new()
        } else {
            format!(
                "a client walking pages would pay {:.0} for the same reads, {:.1} in the busiest minute\n",
                e.page_walk_read_cost_per_day, e.page_walk_peak_minute_cost
            )
        },
    );
    let json = json!({
        "fits": e.fits(),
        "people_upserts_per_day": upserts,
        "records_read_per_day": reads,
        "peak_hour_share": share,
        "cost_per_minute": limit,
        "reserve_pct": reserve_pct,
        "usable_per_minute": e.usable_per_minute,
        "upsert_cost_per_day": e.upsert_cost_per_day,
        "read_cost_per_day": e.read_cost_per_day,
        "peak_minute_cost": e.peak_minute_cost,
        "headroom_per_minute": e.headroom(),
        "page_walk_read_cost_per_day": e.page_walk_read_cost_per_day,
        "page_walk_peak_minute_cost": e.page_walk_peak_minute_cost,
        "bulk_upsert_cost_per_day": e.bulk_upsert_cost_per_day,
        "bulk_peak_minute_cost": e.bulk_peak_minute_cost,
        "bulk_fits": e.bulk_peak_minute_cost <= e.usable_per_minute,
        "bulk_cost_is_estimate": true,
    });
    let status = if e.fits() { Status::Done } else { Status::Problems };
    let outcome = Outcome::new(status, json, text);
    Ok(if e.fits() {
        outcome
    } else {
        outcome.hint(
            "lower the peak (spread the work over more hours), ask SalesLoft for a larger budget, or move bulk \
             writes off-peak",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_walk_costs_match_the_worked_totals_of_facts_2_2() {
        // FACTS.md §2.2: 100 pages = 100; 150 = 250; 250 = 1050; 500 = 3550.
        for (pages, cost) in [(100, 100.0), (150, 250.0), (250, 1050.0), (500, 3550.0), (501, 3580.0)] {
            assert_eq!(page_walk_cost(pages * 100), cost, "{pages} pages");
        }
        assert_eq!(page_walk_cost(0), 0.0);
        assert_eq!(page_walk_cost(1), 1.0);
        assert_eq!(page_walk_cost(10_001), 103.0, "10 001 records take 101 pages, and page 101 costs 3");
    }

    #[test]
    fn the_contract_example_fits_and_a_heavy_day_does_not() {
        // CONFIG.md's [volume]: 20 000 upserts, 200 000 reads, 25 % in the busiest hour, 600 less 10 %.
        let e = estimate(20_000, 200_000, 0.25, 600, 10);
        assert_eq!(e.upsert_cost_per_day, 20_200.0);
        assert_eq!(e.read_cost_per_day, 2_000.0);
        assert!((e.peak_minute_cost - 92.5).abs() < 1e-9, "{e:?}");
        assert_eq!(e.usable_per_minute, 540.0);
        assert!(e.fits());
        // As one bulk job: 4 uploads + 2 job calls + 6 polls (20 s of processing: waits 1+2+4+8+16) + 200 pages.
        assert_eq!(e.bulk_upsert_cost_per_day, 212.0);
        let heavy = estimate(200_000, 0, 0.25, 600, 10);
        assert!(!heavy.fits(), "{heavy:?}");
        assert!(heavy.headroom() < 0.0);
        assert!(heavy.bulk_peak_minute_cost < heavy.usable_per_minute, "the bulk path fits: {heavy:?}");
    }
}
