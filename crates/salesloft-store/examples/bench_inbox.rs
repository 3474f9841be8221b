//! Webhook-inbox intake benchmark: N deliveries from many concurrent submitters through the group-commit
//! [`InboxWriter`], each acknowledged only after its batch committed durably.
//!
//! ```text
//! cargo run --release -p salesloft-store --example bench_inbox -- [--store URL] [--n 200000] [--submitters 512]
//! ```
//! Default store: a fresh SQLite file in a temp dir (WAL, synchronous=FULL). For PostgreSQL pass
//! `--store "$SLPROD_TEST_PG_URL?schema=bench"`; the figure is durable only if the server runs with
//! fsync=on and synchronous_commit=on (`SLPROD_TEST_PG_DURABLE=1 scripts/pg-test-server.sh start`); the
//! benchmark prints the server's settings next to the result.

use std::sync::Arc;
use std::time::{Duration, Instant};

use salesloft_store::{Delivery, InboxWriter, StoreOptions, StoreUrl, WriterConfig};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

#[tokio::main]
async fn main() {
    if let Err(error) = run().await {
        eprintln!("error: {error}");
        std::process::exit(2);
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = arg(&args, "--n").map_or(Ok(200_000), |v| v.parse())?;
    let submitters: usize = arg(&args, "--submitters").map_or(Ok(512), |v| v.parse())?;
    let max_batch: usize = arg(&args, "--max-batch").map_or(Ok(4096), |v| v.parse())?;
    let tmp = tempfile::tempdir()?;
    let url = match arg(&args, "--store") {
        Some(url) => StoreUrl::parse(&url)?,
        None => StoreUrl::Sqlite { path: tmp.path().join("bench.sqlite") },
    };
    let store = salesloft_store::open_with(&url, StoreOptions::default()).await?;
    let durability = describe_durability(&url).await;
    let writer = InboxWriter::spawn(store.clone(), WriterConfig { max_batch, queue: 65_536 });
    let run_id = uuid::Uuid::new_v4().simple().to_string();
    let per = n.div_ceil(submitters);
    let latencies = Arc::new(std::sync::Mutex::new(Vec::with_capacity(n)));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for s in 0..submitters {
        let writer = writer.clone();
        let latencies = latencies.clone();
        let run_id = run_id.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::with_capacity(per);
            for i in 0..per {
                let id = s * per + i;
                if id >= n {
                    break;
                }
                // A realistic SalesLoft person_updated body (~400 bytes): the bare resource object.
                let body = format!(
                    r#"{{"id":{id},"updated_at":"2026-11-28T04:00:00.{id:06}Z","first_name":"Bench","last_name":"Person{id}","email_address":"bench{id}.{run_id}@example.com","title":"VP Sales","city":"Atlanta","state":"GA","country":"US","person_stage":{{"id":3,"_href":"https://api.salesloft.com/v2/person_stages/3"}},"account":{{"id":42,"_href":"https://api.salesloft.com/v2/accounts/42"}},"run":"{run_id}"}}"#
                );
                let t0 = Instant::now();
                writer.submit(Delivery::new("person_updated", body.into_bytes())).await?;
                mine.push(t0.elapsed());
            }
            latencies.lock().map_err(|_| salesloft_store::StoreError::WriterStopped)?.extend(mine);
            Ok::<_, salesloft_store::StoreError>(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let elapsed = start.elapsed();
    let mut lat = latencies.lock().map_err(|_| "poisoned")?.clone();
    lat.sort();
    let pct = |p: f64| lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1))).copied();
    let ms = |d: Option<Duration>| d.map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0);
    println!(
        "backend={} durability=\"{durability}\" deliveries={} submitters={submitters} max_batch={max_batch} \
         elapsed={:.2}s rate={:.0}/s ack_p50={:.2}ms ack_p99={:.2}ms ack_max={:.2}ms",
        url.backend_name(),
        lat.len(),
        elapsed.as_secs_f64(),
        lat.len() as f64 / elapsed.as_secs_f64(),
        ms(pct(0.50)),
        ms(pct(0.99)),
        ms(lat.last().copied()),
    );
    Ok(())
}

async fn describe_durability(url: &StoreUrl) -> String {
    match url {
        StoreUrl::Sqlite { .. } => "sqlite WAL synchronous=FULL (fsync per commit)".into(),
        StoreUrl::Postgres { url, .. } => {
            let settings = async {
                let pool = sqlx::PgPool::connect(url).await?;
                let mut out = Vec::new();
                for name in ["fsync", "synchronous_commit"] {
                    let row: (String,) =
                        sqlx::query_as(sqlx::AssertSqlSafe(format!("SHOW {name}"))).fetch_one(&pool).await?;
                    out.push(format!("{name}={}", row.0));
                }
                Ok::<_, sqlx::Error>(out.join(" "))
            };
            settings.await.unwrap_or_else(|e| format!("unknown ({e})"))
        }
    }
}
