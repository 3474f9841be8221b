//! Writes every rendered file into one directory (`slprod alerts export --out DIR`).

use std::path::{Path, PathBuf};

use crate::definition::{Thresholds, catalogue};
use crate::rules::RenderOptions;

/// The rule file's name.
pub const RULES_FILE: &str = "salesloft.rules.yml";
/// The promtool test file's name (it names [`RULES_FILE`] relative to itself).
pub const RULES_TEST_FILE: &str = "salesloft.rules.test.yml";
/// The Alertmanager example's name.
pub const ALERTMANAGER_FILE: &str = "alertmanager.example.yml";
/// The Grafana dashboard's name.
pub const DASHBOARD_FILE: &str = "grafana-dashboard.json";

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A threshold cannot be measured.
    #[error(transparent)]
    Definition(#[from] crate::DefinitionError),
    /// A file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// Writes the rule file, its promtool tests, the Alertmanager example and the dashboard into `dir` (created
/// if missing); returns the paths written, in that order.
pub fn export(
    dir: &Path,
    thresholds: &Thresholds,
    budget_per_minute: u32,
    options: &RenderOptions,
) -> Result<Vec<PathBuf>, ExportError> {
    thresholds.validate()?;
    let alerts = catalogue(thresholds);
    std::fs::create_dir_all(dir).map_err(|source| ExportError::Write { path: dir.to_path_buf(), source })?;
    let dashboard = crate::dashboard::render(thresholds, budget_per_minute);
    let files = [
        (RULES_FILE, crate::rules::render(&alerts, options)),
        (RULES_TEST_FILE, crate::promtool::render(&alerts, options, RULES_FILE)),
        (ALERTMANAGER_FILE, crate::alertmanager::render()),
        (DASHBOARD_FILE, format!("{:#}\n", dashboard)),
    ];
    let mut written = Vec::new();
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|source| ExportError::Write { path: path.clone(), source })?;
        written.push(path);
    }
    Ok(written)
}
