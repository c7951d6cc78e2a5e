//! The book's stage graph is drawn from `docker/Dockerfile` by the suite's
//! own code, and this test fails when the committed picture is not the one
//! the Dockerfile gives today.

use anyhow::{Context, Result};
use integration_suite::book::stage_graph::StageGraph;
use integration_suite::builds::dockerfile::Dockerfile;
use integration_suite::repo::repo_path;

const DOCKERFILE: &str = "docker/Dockerfile";
const GRAPH: &str = "book/src/stage-graph.svg";
/// Where a stale run leaves the picture as it should be, for review.
const DRAWN: &str = "target/stage-graph.svg";

#[test]
fn book_stage_graph_is_drawn_from_the_dockerfile() -> Result<()> {
    let drawn = StageGraph::of(&Dockerfile::load(&repo_path(DOCKERFILE))?).svg();
    let committed = std::fs::read_to_string(repo_path(GRAPH)).unwrap_or_default();
    if committed != drawn {
        std::fs::create_dir_all(repo_path("target"))?;
        std::fs::write(repo_path(DRAWN), &drawn)
            .with_context(|| format!("cannot write {DRAWN}"))?;
        panic!(
            "{GRAPH} is not the stage graph of {DOCKERFILE}; the graph drawn from it now is in \
             {DRAWN}: look at it, then `cp {DRAWN} {GRAPH}`"
        );
    }
    Ok(())
}
