//! A bare simulator server without the `slprod` binary, for benchmarks and quick experiments:
//! `cargo run --release -p salesloft-sim --example serve -- --listen 127.0.0.1:4646 --api-key KEY
//! --seed-people 10000 --budget 2000000000`. Prefer `slprod sim`, which takes every option.

use salesloft_sim::{SimConfig, Simulator};

#[tokio::main]
async fn main() {
    let mut config = SimConfig { listen: ([127, 0, 0, 1], 4545).into(), ..SimConfig::default() };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_default();
        let applied = match flag.as_str() {
            "--listen" => value.parse().map(|listen| config.listen = listen).is_ok(),
            "--api-key" => {
                config.api_keys = vec![value.clone()];
                true
            }
            "--seed-people" => value.parse().map(|people| config.seed_people = people).is_ok(),
            "--budget" => value.parse().map(|budget| config.budget_per_minute = budget).is_ok(),
            _ => false,
        };
        if !applied {
            eprintln!("error: bad flag {flag} {value}");
            std::process::exit(2);
        }
    }
    let sim = match Simulator::start(config).await {
        Ok(sim) => sim,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::exit(2);
        }
    };
    println!("salesloft simulator listening on {}", sim.base_url());
    let _ = tokio::signal::ctrl_c().await;
    sim.shutdown().await;
}
