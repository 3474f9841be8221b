//! The 27 checks: IDs, the checklist's wording, severity and kind (DESIGN.md "Checks"), and which function
//! runs each.

use super::drills;
use super::live;
use super::model::{Def, Finding, Kind, Section, Severity};
use super::static_checks;
use super::target::Env;

const fn def(id: &'static str, section: Section, item: &'static str, severity: Severity, kind: Kind) -> Def {
    Def { id, section, item, severity, kind }
}

/// Every check, in checklist order.
pub const DEFS: [Def; 27] = [
    def(
        "AUTH-1",
        Section::Auth,
        "Production OAuth app created (separate from dev/staging)",
        Severity::P1,
        Kind::Static,
    ),
    def("AUTH-2", Section::Auth, "Tokens stored in secret manager", Severity::P1, Kind::Static),
    def("AUTH-3", Section::Auth, "Token refresh logic tested (simulated expired token)", Severity::P1, Kind::Drill),
    def("AUTH-4", Section::Auth, "Webhook signing secret rotated from dev value", Severity::P1, Kind::Static),
    def("ERR-1", Section::Errors, "401 triggers automatic token refresh (not crash)", Severity::P1, Kind::Drill),
    def("ERR-2", Section::Errors, "429 handled with backoff using Retry-After header", Severity::P2, Kind::Drill),
    def("ERR-3", Section::Errors, "5xx retried with exponential backoff (max 3 attempts)", Severity::P2, Kind::Drill),
    def("ERR-4", Section::Errors, "422 validation errors logged with request payload", Severity::P3, Kind::Drill),
    def(
        "ERR-5",
        Section::Errors,
        "Circuit breaker prevents cascade during SalesLoft outages",
        Severity::P1,
        Kind::Drill,
    ),
    def("RATE-1", Section::Rate, "Cost-based budget calculated for expected volume", Severity::P2, Kind::Static),
    def("RATE-2", Section::Rate, "Deep pagination avoided (page > 100 costs 3-30x)", Severity::P2, Kind::Drill),
    def("RATE-3", Section::Rate, "Bulk operations use p-queue or similar throttle", Severity::P2, Kind::Drill),
    def("RATE-4", Section::Rate, "Rate limit headers logged for capacity planning", Severity::P3, Kind::Drill),
    def("MON-1", Section::Monitoring, "Health check includes SalesLoft connectivity", Severity::P2, Kind::Live),
    def("MON-2", Section::Monitoring, "Alert on 5xx error rate > 5/min (P1)", Severity::P1, Kind::Drill),
    def("MON-3", Section::Monitoring, "Alert on 429 rate > 10/min (P2)", Severity::P2, Kind::Drill),
    def("MON-4", Section::Monitoring, "Alert on auth failures (P1)", Severity::P1, Kind::Drill),
    def(
        "MON-5",
        Section::Monitoring,
        "Latency p99 tracked (baseline: 300ms reads, 500ms writes)",
        Severity::P3,
        Kind::Drill,
    ),
    def("DATA-1", Section::Data, "Idempotency keys on creates/updates", Severity::P1, Kind::Drill),
    def("DATA-2", Section::Data, "Duplicate detection by email", Severity::P1, Kind::Drill),
    def("DATA-3", Section::Data, "Webhook events deduplicated", Severity::P1, Kind::Drill),
    def("DATA-4", Section::Data, "Audit log captures all mutations", Severity::P1, Kind::Drill),
    def("ROLL-1", Section::Rollback, "Pause any running cadence syncs", Severity::P1, Kind::Drill),
    def("ROLL-2", Section::Rollback, "Verify health check returns 200", Severity::P2, Kind::Drill),
    def("ROLL-3", Section::Rollback, "Notify team in Slack", Severity::P2, Kind::Drill),
    def("SMOKE-1", Section::Smoke, "GET /me returns 200 with user email", Severity::P1, Kind::Live),
    def("SMOKE-2", Section::Smoke, "GET /people?per_page=1 returns data with total count", Severity::P2, Kind::Live),
];

/// Runs one check; an `Err` is a check that could not run (its message says why).
pub async fn run_one(def: &Def, env: &mut Env) -> Result<Finding, String> {
    match def.id {
        "AUTH-1" => Ok(static_checks::auth1(env.config())),
        "AUTH-2" => Ok(static_checks::auth2(env.config())),
        "AUTH-3" => drills::auth::expired_token(env).await,
        "AUTH-4" => Ok(static_checks::auth4(env.config())),
        "ERR-1" => drills::auth::refresh_on_401(env).await,
        "ERR-2" => drills::errors::throttled(env).await,
        "ERR-3" => drills::errors::server_errors(env).await,
        "ERR-4" => drills::errors::validation_logged(env).await,
        "ERR-5" => drills::errors::breaker(env).await,
        "RATE-1" => Ok(static_checks::rate1(env.config())),
        "RATE-2" => drills::rate::no_deep_pages(env).await,
        "RATE-3" => drills::rate::write_burst(env).await,
        "RATE-4" => drills::rate::headers_recorded(env).await,
        "MON-1" => live::health(env).await,
        "MON-2" => drills::monitoring::alert(env, "SalesloftServerErrors").await,
        "MON-3" => drills::monitoring::alert(env, "SalesloftRateLimited").await,
        "MON-4" => drills::monitoring::alert(env, "SalesloftAuthFailure").await,
        "MON-5" => drills::monitoring::latency(env).await,
        "DATA-1" => drills::data::crash_then_rerun(env).await,
        "DATA-2" => drills::data::concurrent_email(env).await,
        "DATA-3" => drills::data::webhook_replay(env).await,
        "DATA-4" => drills::data::audit_chain(env).await,
        "ROLL-1" => drills::rollback::pause(env).await,
        "ROLL-2" => drills::rollback::health(env).await,
        "ROLL-3" => drills::rollback::notify(env).await,
        "SMOKE-1" => live::me(env).await,
        "SMOKE-2" => live::people_count(env).await,
        other => Err(format!("no check named {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twenty_seven_unique_ids_in_checklist_order_with_their_section_prefix() {
        let mut ids: Vec<&str> = DEFS.iter().map(|d| d.id).collect();
        for def in &DEFS {
            assert!(def.id.starts_with(def.section.prefix()), "{}", def.id);
        }
        let sections: Vec<Section> = DEFS.iter().map(|d| d.section).collect();
        assert!(sections.windows(2).all(|w| w[0] <= w[1]), "checklist order");
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 27);
    }
}
