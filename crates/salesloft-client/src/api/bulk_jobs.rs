//! `/v2/bulk_jobs` (FACTS.md §12): create a job, upload its records in chunks of up to 5 000, mark it ready,
//! poll it, and read `job_data` / `results` with the `id[gt]` cursor (these lists have no page numbers).
//!
//! Use it through [`crate::bulk_upsert`] for a durable `person/upsert`; the handler itself keeps no state.
//! Neither the create nor an upload carries an idempotency key, so the pipeline never repeats them: a lost
//! answer to an upload leaves the records stored (the simulator's `drop_after` fault), and only a
//! `GET …/job_data` can tell whether they landed. A repeat would store them twice.

use http::Method;
use serde_json::{Value, json};

use super::to_body;
use crate::models::{BulkJob, BulkJobId, BulkJobRow, BulkJobState, BulkRowStatus, JobDataCreated};
use crate::transport::ApiRequest;
use crate::{Client, Error};

/// The most records one `job_data` upload may carry (FACTS.md §12: "Up to 5 000 records per job_data call").
pub const MAX_RECORDS_PER_UPLOAD: usize = 5_000;

/// The most rows one page of a cursor list returns (`per_page` 1..=100, FACTS.md §12 / §4.1).
pub const MAX_ROWS_PER_PAGE: u32 = 100;

/// The job type of a bulk upsert of people.
pub const PERSON_UPSERT: &str = "person/upsert";

/// Calls on bulk jobs. Get one with [`Client::bulk_jobs`].
#[derive(Debug, Clone, Copy)]
pub struct BulkJobsHandler<'c> {
    client: &'c Client,
}

impl<'c> BulkJobsHandler<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Self { client }
    }

    /// Creates a job of `job_type` (e.g. [`PERSON_UPSERT`]) named `name`; it starts `open`. Never repeated
    /// by the pipeline (a repeat would leave a second, empty job).
    ///
    /// ```no_run
    /// # async fn run(client: salesloft_client::Client) -> salesloft_client::Result<()> {
    /// use salesloft_client::api::bulk_jobs::PERSON_UPSERT;
    /// let job = client.bulk_jobs().create(PERSON_UPSERT, Some("nightly import")).await?;
    /// println!("job {} is {}", job.id, job.state.as_str());
    /// # Ok(()) }
    /// ```
    pub async fn create(&self, job_type: &str, name: Option<&str>) -> Result<BulkJob, Error> {
        let mut body = json!({ "type": job_type });
        if let (Some(name), Some(fields)) = (name, body.as_object_mut()) {
            fields.insert("name".to_string(), name.into());
        }
        let request = ApiRequest::new("bulk_jobs.create", Method::POST, "bulk_jobs").json(body);
        self.client.send_data(request).await
    }

    /// Fetches one job (its `state`, `total`, `processed` and `errors`).
    pub async fn get(&self, id: BulkJobId) -> Result<BulkJob, Error> {
        let request = ApiRequest::new("bulk_jobs.get", Method::GET, format!("bulk_jobs/{id}"));
        self.client.send_data(request).await
    }

    /// Starts a list of jobs, by id ascending (`state` filter, `id[gt]` cursor).
    ///
    /// ```no_run
    /// # async fn run(client: salesloft_client::Client) -> salesloft_client::Result<()> {
    /// use salesloft_client::models::BulkJobState;
    /// let open = client.bulk_jobs().list().state(BulkJobState::Open).per_page(100).send().await?;
    /// # let _ = open; Ok(()) }
    /// ```
    pub fn list(&self) -> CursorList<'c, BulkJob> {
        CursorList::new(self.client, "bulk_jobs.list", "bulk_jobs".to_string())
    }

    /// Marks the job ready (`PUT {"ready_to_execute":true}`): it turns `executing` and can no longer change.
    /// A PUT is repeatable; a repeat that finds the job no longer open gets a 422 on `state`.
    pub async fn mark_ready(&self, id: BulkJobId) -> Result<BulkJob, Error> {
        let request = ApiRequest::new("bulk_jobs.update", Method::PUT, format!("bulk_jobs/{id}"))
            .json(json!({ "ready_to_execute": true }));
        self.client.send_data(request).await
    }

    /// Uploads `records` (each the parameters of one call, e.g. person fields plus `upsert_key`) to an open
    /// job. More than [`MAX_RECORDS_PER_UPLOAD`] is refused here, before anything is sent; an empty upload
    /// too (it would cost a call and change nothing). Never repeated by the pipeline (see the module docs).
    pub async fn upload(&self, id: BulkJobId, records: &[Value]) -> Result<JobDataCreated, Error> {
        if records.is_empty() || records.len() > MAX_RECORDS_PER_UPLOAD {
            return Err(Error::Construction {
                reason: format!(
                    "a job_data upload takes 1 to {MAX_RECORDS_PER_UPLOAD} records (FACTS.md §12), got {}",
                    records.len()
                ),
            });
        }
        let body = to_body("bulk_jobs.job_data.create", &json!({ "data": records }))?;
        let request =
            ApiRequest::new("bulk_jobs.job_data.create", Method::POST, format!("bulk_jobs/{id}/job_data")).json(body);
        self.client.send_data(request).await
    }

    /// Starts a page of the records uploaded to job `id` (every record, `pending` until applied).
    pub fn job_data(&self, id: BulkJobId) -> CursorList<'c, BulkJobRow> {
        CursorList::new(self.client, "bulk_jobs.job_data.list", format!("bulk_jobs/{id}/job_data"))
    }

    /// Starts a page of the results of job `id` (empty until the job is `done`).
    ///
    /// ```no_run
    /// # async fn run(client: salesloft_client::Client, id: salesloft_client::models::BulkJobId)
    /// # -> salesloft_client::Result<()> {
    /// let mut after = None;
    /// loop {
    ///     let page = client.bulk_jobs().results(id).after(after).per_page(100).send().await?;
    ///     let Some(last) = page.last() else { break };
    ///     after = Some(last.id);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn results(&self, id: BulkJobId) -> CursorList<'c, BulkJobRow> {
        CursorList::new(self.client, "bulk_jobs.results.list", format!("bulk_jobs/{id}/results"))
    }
}

/// One page of a cursor list (`id[gt]`, `per_page`, filters): the bulk-job routes have no page numbers, so a
/// walk asks for the rows after the last id it saw (FACTS.md §12).
#[derive(Debug, Clone)]
#[must_use = "a list does nothing until `send` is awaited"]
pub struct CursorList<'c, T> {
    client: &'c Client,
    operation: &'static str,
    path: String,
    query: Vec<(String, String)>,
    _rows: std::marker::PhantomData<fn() -> T>,
}

impl<'c, T: serde::de::DeserializeOwned> CursorList<'c, T> {
    fn new(client: &'c Client, operation: &'static str, path: String) -> Self {
        Self { client, operation, path, query: Vec::new(), _rows: std::marker::PhantomData }
    }

    /// Only rows whose id is greater than `after` (`id[gt]`); `None` starts at the beginning.
    pub fn after(mut self, after: Option<i64>) -> Self {
        if let Some(after) = after {
            self.query.push(("id[gt]".to_string(), after.to_string()));
        }
        self
    }

    /// Rows per page, clamped to 1..=100.
    pub fn per_page(mut self, per_page: u32) -> Self {
        self.query.push(("per_page".to_string(), per_page.clamp(1, MAX_ROWS_PER_PAGE).to_string()));
        self
    }

    /// Sends the request; the page's rows, by id ascending (empty at the end of the list).
    pub async fn send(self) -> Result<Vec<T>, Error> {
        let mut request = ApiRequest::new(self.operation, Method::GET, self.path);
        for (key, value) in self.query {
            request = request.query(key, value);
        }
        self.client.send_data(request).await
    }
}

impl CursorList<'_, BulkJob> {
    /// Only jobs in `state`.
    pub fn state(mut self, state: BulkJobState) -> Self {
        self.query.push(("state".to_string(), state.as_str().to_string()));
        self
    }
}

impl CursorList<'_, BulkJobRow> {
    /// Only rows with `status`.
    pub fn status(mut self, status: BulkRowStatus) -> Self {
        let text = match &status {
            BulkRowStatus::Pending => "pending",
            BulkRowStatus::Success => "success",
            BulkRowStatus::Error => "error",
            BulkRowStatus::Retrying => "retrying",
            BulkRowStatus::Other(other) => other.as_str(),
        };
        self.query.push(("status".to_string(), text.to_string()));
        self
    }
}
