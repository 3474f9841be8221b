//! Running bulk jobs (FACTS.md §12): an `executing` job applies its records in upload order at
//! [`crate::SimConfig::bulk_records_per_second`] of the simulator clock, each exactly as
//! `POST /v2/person_upserts` would ([`crate::routes::person_upserts::apply`]: same `upsert_key`, unique
//! email, 422s, `person_*` events), counts `processed` and `errors`, and once every record is applied turns
//! `done` and announces `bulk_job_completed` with the job as the body.
//!
//! Progress is a function of the simulator clock, not of wall-clock work:
//! - [`pace`] (pure) turns elapsed clock time into a number of due records, carrying the fraction over;
//! - [`catch_up`] applies what is due now. Every `/v2` request and every `POST /__sim/clock` calls it first,
//!   so a test that advances the clock reads the state as of the new time without sleeping;
//! - [`run_worker`] calls it in the background every few milliseconds while a job executes, so a client that
//!   only waits for the `bulk_job_completed` webhook gets it.
//!
//! A job marked stuck (`POST /__sim/bulk_jobs/{id}/stuck`) applies nothing and stays `executing` until
//! released; [`process_now`] (`POST /__sim/bulk_jobs/{id}/process`) applies records at once, whatever the
//! rate.

use std::sync::{Arc, PoisonError};
use std::time::Duration;

use crate::body::Params;
use crate::clock::Micros;
use crate::config::SimConfig;
use crate::query::Query;
use crate::records::Render;
use crate::records::bulk_jobs::{JobState, Pacing, RecordStatus};
use crate::routes::{Ctx, Event, person_upserts};
use crate::state::Shared;
use crate::store::TeamData;
use crate::webhooks;

/// One record's worth of pacing credit: credit is counted in record-microseconds.
const CREDIT_PER_RECORD: u128 = 1_000_000;

/// Shortest wait of the background worker between two catch-ups (it applies every due record at once, so
/// a fast rate does not mean many wake-ups).
const WORKER_TICK: Duration = Duration::from_millis(20);

/// How many records are due after `elapsed` microseconds at `per_second`, given the `carry` left over: the
/// records and the new carry. Pure; time never runs backwards here (a negative `elapsed` counts as zero).
pub fn pace(carry: u64, elapsed: Micros, per_second: u32) -> (u64, u64) {
    let elapsed = u128::try_from(elapsed.max(0)).unwrap_or(0);
    let credit = u128::from(carry) + elapsed * u128::from(per_second);
    let records = u64::try_from(credit / CREDIT_PER_RECORD).unwrap_or(u64::MAX);
    let carry = u64::try_from(credit % CREDIT_PER_RECORD).unwrap_or(0);
    (records, carry)
}

/// How many records a step may apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quota {
    /// What the rate allows since the last step.
    Paced,
    /// Up to this many, now (the `process` control).
    Now(u64),
}

/// Applies what is due at `now` to every executing job (in job id order, or only `only`); returns the
/// events to deliver (`person_created` / `person_updated` per applied record, `bulk_job_completed` per job
/// that finished).
pub fn step(
    data: &mut TeamData,
    config: &SimConfig,
    render: Render<'_>,
    now: Micros,
    only: Option<i64>,
    quota: Quota,
) -> Vec<Event> {
    let jobs: Vec<i64> = data
        .bulk_jobs
        .by_id(true)
        .filter(|(id, job)| job.state == JobState::Executing && only.is_none_or(|wanted| wanted == *id))
        .map(|(id, _)| id)
        .collect();
    let mut events = Vec::new();
    for job_id in jobs {
        step_job(data, config, render, now, job_id, quota, &mut events);
    }
    events
}

fn step_job(
    data: &mut TeamData,
    config: &SimConfig,
    render: Render<'_>,
    now: Micros,
    job_id: i64,
    quota: Quota,
    events: &mut Vec<Event>,
) {
    let Some(mut job) = data.bulk_jobs.get(job_id).cloned() else {
        return;
    };
    if job.pacing.stuck {
        return;
    }
    let due = match quota {
        Quota::Paced => {
            let (due, carry) = pace(job.pacing.carry, now - job.pacing.since, config.bulk_records_per_second);
            job.pacing = Pacing { since: now.max(job.pacing.since), carry, stuck: false };
            due
        }
        Quota::Now(records) => records,
    };
    let count = due.min(job.total.saturating_sub(job.processed));
    let query = Query::default();
    let ctx = Ctx { config, render, now, user_id: job.user_id, query: &query };
    let start = usize::try_from(job.processed).unwrap_or(usize::MAX);
    let end = start.saturating_add(usize::try_from(count).unwrap_or(usize::MAX));
    for index in start..end {
        let Some(record) = data.bulk_records.get(&job_id).and_then(|records| records.get(index)) else {
            break;
        };
        let params = Params::from_object(record.record.clone());
        let status = match person_upserts::apply(data, &ctx, &params) {
            Ok(applied) => {
                events.push(applied.event);
                RecordStatus::Success(applied.resource)
            }
            Err(error) => {
                job.errors += 1;
                RecordStatus::Error(error.message())
            }
        };
        if let Some(record) = data.bulk_records.get_mut(&job_id).and_then(|records| records.get_mut(index)) {
            record.status = status;
        }
        job.processed += 1;
    }
    if count > 0 {
        job.updated_at = now;
    }
    if job.processed >= job.total {
        job.state = JobState::Done;
        job.finished_at = Some(now);
        job.updated_at = now;
        job.pacing.carry = 0;
        let mut body = String::with_capacity(512);
        job.render(job_id, &render, &mut body);
        events.push(Event { event_type: "bulk_job_completed", body });
    }
    data.bulk_jobs.put(job_id, job);
}

/// Whether a job is executing and not held: the background worker's reason to run.
fn has_running_job(data: &TeamData) -> bool {
    data.bulk_jobs.by_id(true).any(|(_, job)| job.state == JobState::Executing && !job.pacing.stuck)
}

/// The render context of `shared`.
fn render(shared: &Shared) -> Render<'_> {
    Render { base: &shared.base_url, offset_minutes: shared.config.utc_offset_minutes }
}

/// Applies every record due at the simulator's now and delivers the events. Cheap when no job executes
/// (one read lock).
pub fn catch_up(shared: &Arc<Shared>) {
    if !has_running_job(&shared.data.read().unwrap_or_else(PoisonError::into_inner)) {
        return;
    }
    let now = shared.clock.now_micros();
    let events = {
        let mut data = shared.data.write().unwrap_or_else(PoisonError::into_inner);
        step(&mut data, &shared.config, render(shared), now, None, Quota::Paced)
    };
    webhooks::dispatch(shared, events);
}

/// Applies up to `records` records of job `job_id` now, whatever the rate (nothing while it is stuck or not
/// executing), and delivers the events. `false` when there is no such job.
pub fn process_now(shared: &Arc<Shared>, job_id: i64, records: u64) -> bool {
    let now = shared.clock.now_micros();
    let events = {
        let mut data = shared.data.write().unwrap_or_else(PoisonError::into_inner);
        if data.bulk_jobs.get(job_id).is_none() {
            return false;
        }
        step(&mut data, &shared.config, render(shared), now, Some(job_id), Quota::Now(records))
    };
    webhooks::dispatch(shared, events);
    true
}

/// Holds (`stuck = true`) or releases job `job_id`. A released job starts earning credit from now, so it
/// does not apply the records of the time it was held all at once. `false` when there is no such job.
pub fn set_stuck(shared: &Arc<Shared>, job_id: i64, stuck: bool) -> bool {
    let now = shared.clock.now_micros();
    {
        let mut data = shared.data.write().unwrap_or_else(PoisonError::into_inner);
        let Some(mut job) = data.bulk_jobs.get(job_id).cloned() else {
            return false;
        };
        job.pacing = Pacing { since: now, carry: 0, stuck };
        data.bulk_jobs.put(job_id, job);
    }
    shared.bulk_wake.notify_one();
    true
}

/// Job `job_id` as the API renders it (the bare object), or `None`.
pub fn job_json(shared: &Shared, job_id: i64) -> Option<String> {
    let data = shared.data.read().unwrap_or_else(PoisonError::into_inner);
    let job = data.bulk_jobs.get(job_id)?;
    let mut out = String::with_capacity(512);
    job.render(job_id, &render(shared), &mut out);
    Some(out)
}

/// Wakes the background worker (a job may have started executing).
pub fn wake(shared: &Shared) {
    shared.bulk_wake.notify_one();
}

/// The background worker: while a job executes, catches up every tick (one record's time at the configured
/// rate, at least [`WORKER_TICK`], at most a second); otherwise waits to be woken. Runs until the task is aborted.
pub async fn run_worker(shared: Arc<Shared>) {
    loop {
        let running = has_running_job(&shared.data.read().unwrap_or_else(PoisonError::into_inner));
        if running {
            let per_record = Duration::from_micros(1_000_000 / u64::from(shared.config.bulk_records_per_second.max(1)));
            let wait = per_record.max(WORKER_TICK);
            // The tick is only when to look again; what is due is read from the simulator clock. It waits on
            // tokio's timer, not on that clock: a `ManualClock` moves forward by every sleep asked of it, so
            // sleeping on it would run a job to the end at once and fill the sleeps a test asserts. On a
            // `ManualClock`, jobs progress as the test advances the clock.
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = shared.bulk_wake.notified() => {}
            }
        } else {
            shared.bulk_wake.notified().await;
        }
        catch_up(&shared);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pace_turns_clock_time_into_records_and_carries_the_fraction() {
        let table = [
            // (carry, elapsed µs, per second) → (records, carry)
            ((0, 0, 1000), (0, 0)),
            ((0, 1_000_000, 1000), (1000, 0)),
            ((0, 1_500, 1000), (1, 500_000)),
            ((500_000, 500, 1000), (1, 0)),
            ((0, 999_999, 1), (0, 999_999)),
            ((999_999, 1, 1), (1, 0)),
            ((0, 3_000_000, 2), (6, 0)),
            ((0, -5_000_000, 1000), (0, 0)),
            // Absurd spans saturate instead of wrapping.
            ((0, i64::MAX, u32::MAX), (u64::MAX, 0)),
        ];
        for ((carry, elapsed, rate), expected) in table {
            let (records, new_carry) = pace(carry, elapsed, rate);
            assert_eq!(records, expected.0, "records for carry {carry}, elapsed {elapsed}, rate {rate}");
            if elapsed != i64::MAX {
                assert_eq!(new_carry, expected.1, "carry for carry {carry}, elapsed {elapsed}, rate {rate}");
            }
        }
    }
}
