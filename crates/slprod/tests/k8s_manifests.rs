//! `examples/k8s/`: the manifests validate against the Kubernetes OpenAPI schemas (scripts/k8s-validate.sh,
//! which installs kubernetes-validate on first use), the probes point where the runbook says, and the
//! ConfigMap's slprod.toml is a valid configuration file.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::run_blocking;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn manifests() -> Vec<PathBuf> {
    ["deployment.yaml", "configmap.yaml", "secret.example.yaml"]
        .iter()
        .map(|f| root().join("examples/k8s").join(f))
        .collect()
}

#[test]
fn the_manifests_validate_against_the_kubernetes_schemas() {
    let mut command = Command::new(root().join("scripts/k8s-validate.sh"));
    command.args(manifests());
    let (code, stdout, stderr) = run_blocking(&mut command);
    assert_eq!(code, 0, "kubernetes-validate refused a manifest (or could not be installed):\n{stdout}{stderr}");
    for resource in ["deployment/slprod", "service/slprod", "poddisruptionbudget/slprod", "configmap/slprod-config"] {
        assert!(
            stderr.contains(&format!("passed for resource {resource}"))
                || stdout.contains(&format!("passed for resource {resource}")),
            "{resource} not validated:\n{stdout}{stderr}"
        );
    }
}

#[test]
fn readiness_is_ready_and_liveness_is_live_never_health() {
    let deployment = std::fs::read_to_string(root().join("examples/k8s/deployment.yaml")).expect("deployment");
    let probe_path = |probe: &str| {
        let at = deployment.find(&format!("{probe}:")).unwrap_or_else(|| panic!("no {probe}"));
        let rest = &deployment[at..];
        let path_at = rest.find("path: ").expect("probe path") + "path: ".len();
        rest[path_at..].split([',', '}', '\n']).next().expect("path").trim().to_string()
    };
    assert_eq!(probe_path("readinessProbe"), "/ready");
    // /health is 503 while SalesLoft is down: a liveness probe on it would restart every replica then.
    assert_eq!(probe_path("livenessProbe"), "/live");
    assert!(deployment.contains("revisionHistoryLimit"), "rollout undo needs old ReplicaSets");
}

#[test]
fn the_configmaps_slprod_toml_is_a_valid_configuration() {
    let configmap = std::fs::read_to_string(root().join("examples/k8s/configmap.yaml")).expect("configmap");
    let start = configmap.find("slprod.toml: |").expect("slprod.toml key") + "slprod.toml: |".len();
    let toml: String = configmap[start..]
        .lines()
        .skip(1)
        .map(|line| line.strip_prefix("    ").unwrap_or(line.trim_start()))
        .collect::<Vec<_>>()
        .join("\n");
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("slprod.toml");
    std::fs::write(&file, toml).expect("write");
    // `slprod budget` reads the file (unknown keys and bad values are errors) and needs nothing else.
    let mut command = support::slprod();
    command.arg("--config").arg(&file).args(["budget", "--records-read-per-day", "1000"]);
    let (code, stdout, stderr) = run_blocking(&mut command);
    assert_eq!(code, 0, "{stdout}{stderr}");
}
