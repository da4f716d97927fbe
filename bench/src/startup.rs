//! Launch to first result: the release `clipstream search QUERY` spawned and timed to its printed
//! answer, median over different queries after one launch that warms the page cache.

use std::path::Path;
use std::time::Instant;

use crate::measure::{ms_since, percentiles};
use crate::synthetic;

pub fn run(
    cli: &Path,
    model: &Path,
    library: &Path,
    runs: usize,
) -> anyhow::Result<serde_json::Value> {
    let launch = |query: &str| -> anyhow::Result<f64> {
        let t = Instant::now();
        let out = std::process::Command::new(cli)
            .arg("--library")
            .arg(library)
            .arg("--model")
            .arg(model)
            .args(["search", query, "-k", "10", "--all"])
            .output()?;
        anyhow::ensure!(
            out.status.success() && !out.stdout.is_empty(),
            "{} failed: {}",
            cli.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(ms_since(t))
    };
    // One run to fill the page cache and the model check cache: a user's second launch.
    let first_ever = launch(&synthetic::query(0))?;
    let mut times: Vec<f64> = (1..=runs)
        .map(|i| launch(&synthetic::query(i)))
        .collect::<Result<_, _>>()?;
    let (p50, _) = percentiles(&mut times);
    Ok(serde_json::json!({
        "command": format!("{} --library L --model M search QUERY -k 10 --all", cli.display()),
        "runs": runs,
        "first_launch_ms": first_ever,
        "median_ms": p50,
        "max_ms": times.last(),
    }))
}
