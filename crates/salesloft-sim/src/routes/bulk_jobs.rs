//! `/v2/bulk_jobs` (FACTS.md §12; OpenAPI "Bulk Jobs", "Bulk Jobs - Job Data", "Bulk Jobs - Results").
//!
//! - `POST /v2/bulk_jobs` `{"type":"person/upsert","name"?}` → the job, `open`. Another `type` is a 422 on
//!   `type` (the simulator runs only `person/upsert`; SalesLoft's other types are unconfirmed).
//! - `GET /v2/bulk_jobs` (`state`, `id[gt]`, `per_page`), `GET /v2/bulk_jobs/{id}`.
//! - `PUT /v2/bulk_jobs/{id}` `{"name"?, "ready_to_execute"?}`: "May only be updated if the bulk job is still
//!   in an open state" → otherwise 422 `{"errors":{"state":["must be open"]}}` (text unconfirmed).
//!   `ready_to_execute: true` starts it (`executing`); [`crate::bulk`] runs it.
//! - `POST /v2/bulk_jobs/{id}/job_data` `{"data":[{…},…]}` → `{"data":{"records":N}}`: "up to 5,000 records"
//!   ([`crate::SimConfig::bulk_max_records_per_upload`]); more, a non-array or a non-object item is a 422 on
//!   `data` and nothing is stored. Open jobs only (422 as for PUT). Form bodies (`data[]=<JSON object>`, as
//!   the OpenAPI declares) work too.
//! - `GET /v2/bulk_jobs/{id}/job_data` and `/results`: "Pagination is not supported, but cursor based polling
//!   is via use of the `id[gt]` filter": rows by id ascending after `id[gt]`, `per_page` 1..=100 (default
//!   25), `status` filter (`pending|success|error|retrying`). Results are `[]` "until a bulk job's state is
//!   set to `done`". No `paging` metadata: there are no page numbers.

use crate::body::Params;
use crate::envelope::{self, Filtering};
use crate::errors::{ApiError, Validation};
use crate::json::ObjectWriter;
use crate::query::Sorting;
use crate::records::bulk_jobs::{BulkJob, JOB_TYPES, JobRecord, JobState, Pacing, RecordStatus};
use crate::routes::{Ctx, Outcome, enum_list, render_page, template};
use crate::store::TeamData;

/// Lists are ordered by id, ascending (the only order an `id[gt]` cursor makes sense in).
const BY_ID: Sorting = Sorting { key: "id", ascending: true };

fn render_job(data: &TeamData, ctx: &Ctx<'_>, id: i64, out: &mut String) -> bool {
    template::render_row(&data.bulk_jobs, id, out, |job, out| job.render(id, &ctx.render, out))
}

fn answer_job(data: &TeamData, ctx: &Ctx<'_>, id: i64) -> Outcome {
    let mut out = String::with_capacity(512);
    render_job(data, ctx, id, &mut out);
    Outcome::ok(envelope::single(&out))
}

/// The `id[gt]` cursor and `per_page` of a cursor list, echoed into `filtering`.
fn cursor(ctx: &Ctx<'_>, filtering: &mut Filtering) -> Result<(i64, usize), ApiError> {
    let after = match ctx.query.op("id", "gt") {
        None => i64::MIN,
        Some(text) => text.trim().parse::<i64>().map_err(|_| ApiError::field("id", "must be an integer"))?,
    };
    if let Some(text) = ctx.query.op("id", "gt") {
        let mut raw = String::new();
        let mut object = ObjectWriter::new(&mut raw);
        object.str("gt", Some(text));
        object.finish();
        filtering.raw("id", raw);
    }
    let per_page = ctx.query.paging()?.per_page;
    Ok((after, usize::try_from(per_page).unwrap_or(100)))
}

/// `GET /v2/bulk_jobs`.
pub fn list(data: &TeamData, ctx: &Ctx<'_>) -> Result<String, ApiError> {
    let states = enum_list(ctx.query, "state", JobState::NAMES)?;
    let mut filtering = Filtering::default();
    filtering.list("state", states.as_ref());
    let (after, per_page) = cursor(ctx, &mut filtering)?;
    let ids: Vec<i64> = data
        .bulk_jobs
        .by_id(true)
        .filter(|(id, job)| {
            *id > after && states.as_ref().is_none_or(|wanted| wanted.iter().any(|state| state == job.state.as_str()))
        })
        .map(|(id, _)| id)
        .take(per_page)
        .collect();
    let records = render_page(&ids, |id, out| render_job(data, ctx, id, out));
    Ok(envelope::list(&filtering, None, &BY_ID, &records))
}

/// `GET /v2/bulk_jobs/{id}`.
pub fn get(data: &TeamData, ctx: &Ctx<'_>, id: i64) -> Result<String, ApiError> {
    template::get_one(512, |out| render_job(data, ctx, id, out))
}

fn optional_name(params: &Params, errors: &mut Validation) -> Option<Option<String>> {
    params.string("name", errors).map(|name| name.map(|text| text.trim().to_owned()))
}

/// `POST /v2/bulk_jobs`.
pub fn create(data: &mut TeamData, ctx: &Ctx<'_>, params: &Params) -> Result<Outcome, ApiError> {
    let mut errors = Validation::default();
    let job_type = match params.string("type", &mut errors) {
        Some(Some(text)) => {
            let found = JOB_TYPES.iter().find(|candidate| **candidate == text.trim()).copied();
            if found.is_none() {
                errors.add("type", "is invalid");
            }
            found
        }
        _ => {
            errors.add_once("type", ctx.config.required_message.as_str());
            None
        }
    };
    let name = optional_name(params, &mut errors).flatten();
    errors.finish()?;
    let Some(job_type) = job_type else {
        return Err(ApiError::field("type", "is invalid"));
    };
    let job = BulkJob {
        name,
        job_type,
        state: JobState::Open,
        total: 0,
        processed: 0,
        errors: 0,
        user_id: ctx.user_id,
        created_at: ctx.now,
        updated_at: ctx.now,
        marked_ready_at: None,
        started_at: None,
        finished_at: None,
        pacing: Pacing::default(),
    };
    let id = data.bulk_jobs.allocate_id();
    data.bulk_jobs.put(id, job);
    data.bulk_records.insert(id, Vec::new());
    Ok(answer_job(data, ctx, id))
}

/// The job, if it may still be changed: 404 when there is none, 422 on `state` unless it is `open`.
fn open_job(data: &TeamData, id: i64) -> Result<BulkJob, ApiError> {
    let job = data.bulk_jobs.get(id).ok_or(ApiError::NotFound)?;
    if job.state != JobState::Open {
        return Err(ApiError::field("state", "must be open"));
    }
    Ok(job.clone())
}

/// `PUT /v2/bulk_jobs/{id}`.
pub fn update(data: &mut TeamData, ctx: &Ctx<'_>, id: i64, params: &Params) -> Result<Outcome, ApiError> {
    let mut job = open_job(data, id)?;
    let mut errors = Validation::default();
    let name = optional_name(params, &mut errors);
    let ready = params.bool("ready_to_execute", &mut errors);
    errors.finish()?;
    if let Some(name) = name {
        job.name = name;
    }
    if ready == Some(true) {
        job.state = JobState::Executing;
        job.marked_ready_at = Some(ctx.now);
        job.started_at = Some(ctx.now);
        job.pacing = Pacing { since: ctx.now, carry: 0, stuck: job.pacing.stuck };
    }
    job.updated_at = ctx.now;
    data.bulk_jobs.put(id, job);
    Ok(answer_job(data, ctx, id))
}

/// One item of `data`: an object, or (from a form body) a string holding a JSON object.
fn record_object(item: &serde_json::Value) -> Option<serde_json::Map<String, serde_json::Value>> {
    match item {
        serde_json::Value::Object(object) => Some(object.clone()),
        serde_json::Value::String(text) => match serde_json::from_str(text) {
            Ok(serde_json::Value::Object(object)) => Some(object),
            _ => None,
        },
        _ => None,
    }
}

/// `POST /v2/bulk_jobs/{id}/job_data`.
pub fn upload(data: &mut TeamData, ctx: &Ctx<'_>, id: i64, params: &Params) -> Result<Outcome, ApiError> {
    let mut job = open_job(data, id)?;
    let items = match params.value("data") {
        None | Some(serde_json::Value::Null) => {
            return Err(ApiError::field("data", ctx.config.required_message.as_str()));
        }
        Some(serde_json::Value::Array(items)) => items,
        Some(_) => return Err(ApiError::field("data", "is invalid")),
    };
    let limit = ctx.config.bulk_max_records_per_upload;
    if items.len() > limit {
        return Err(ApiError::field("data", format!("must have {limit} records or fewer")));
    }
    let records = items
        .iter()
        .map(record_object)
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| ApiError::field("data", "is invalid"))?;
    let count = records.len();
    let mut rows = Vec::with_capacity(count);
    for record in records {
        rows.push(JobRecord { id: data.allocate_bulk_record_id(), record, status: RecordStatus::Pending });
    }
    data.bulk_records.entry(id).or_default().extend(rows);
    job.total += count as u64;
    job.updated_at = ctx.now;
    data.bulk_jobs.put(id, job);
    let mut body = String::with_capacity(32);
    let mut object = ObjectWriter::new(&mut body);
    object.object("data", |data| {
        data.int("records", Some(count as i64));
    });
    object.finish();
    Ok(Outcome::ok(body))
}

/// `GET /v2/bulk_jobs/{id}/job_data` (every row) and `/results` (`only_done`: rows only once the job is done).
pub fn rows(data: &TeamData, ctx: &Ctx<'_>, id: i64, only_done: bool) -> Result<String, ApiError> {
    let job = data.bulk_jobs.get(id).ok_or(ApiError::NotFound)?;
    let statuses = enum_list(ctx.query, "status", RecordStatus::NAMES)?;
    let mut filtering = Filtering::default();
    filtering.list("status", statuses.as_ref());
    let (after, per_page) = cursor(ctx, &mut filtering)?;
    let mut records = Vec::new();
    if !only_done || job.state == JobState::Done {
        let all = data.bulk_records.get(&id).map_or(&[][..], Vec::as_slice);
        // Ids grow with upload order, so the cursor is a binary search.
        let start = all.partition_point(|row| row.id <= after);
        for row in all[start..]
            .iter()
            .filter(|row| statuses.as_ref().is_none_or(|wanted| wanted.iter().any(|s| s == row.status.as_str())))
            .take(per_page)
        {
            let mut out = String::with_capacity(256);
            row.render(&mut out);
            records.push(out);
        }
    }
    Ok(envelope::list(&filtering, None, &BY_ID, &records))
}
