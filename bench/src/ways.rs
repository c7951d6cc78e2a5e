//! The three ways of building the service that the benchmark compares.

use std::fmt;
use std::str::FromStr;

use anyhow::{Result, bail};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Way {
    /// `COPY . .` then `cargo build --release`, in one stage.
    Naive,
    /// cargo-chef's documented planner / cook / build layout.
    CargoChef,
    /// This project's `docker/Dockerfile`.
    Project,
}

impl Way {
    pub const ALL: [Way; 3] = [Way::Naive, Way::CargoChef, Way::Project];

    pub fn name(self) -> &'static str {
        match self {
            Way::Naive => "naive",
            Way::CargoChef => "cargo-chef",
            Way::Project => "project",
        }
    }

    /// The Dockerfile, relative to the repository root.
    pub fn dockerfile(self) -> &'static str {
        match self {
            Way::Naive => "bench/naive.Dockerfile",
            Way::CargoChef => "bench/cargo-chef.Dockerfile",
            Way::Project => "docker/Dockerfile",
        }
    }

    /// The stage that makes the image this way ships (`None`: the last).
    pub fn target(self) -> Option<&'static str> {
        match self {
            Way::Naive => None,
            Way::CargoChef => Some("runtime"),
            Way::Project => Some("runner"),
        }
    }

    /// Where the shipped image holds the binary of `service`.
    pub fn binary_path(self, service: &str) -> String {
        let dir = match self {
            Way::Naive => "/app/target/release",
            Way::CargoChef => "/usr/local/bin",
            Way::Project => "/opt/rel/bin",
        };
        format!("{dir}/{service}")
    }
}

impl fmt::Display for Way {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Way {
    type Err = anyhow::Error;

    fn from_str(name: &str) -> Result<Self> {
        match Way::ALL.into_iter().find(|way| way.name() == name) {
            Some(way) => Ok(way),
            None => bail!("unknown way {name:?}: expected naive, cargo-chef or project"),
        }
    }
}

/// Parses a comma-separated list such as `naive,project`, keeping the
/// order of [`Way::ALL`] and refusing repeats.
pub fn parse_ways(list: &str) -> Result<Vec<Way>> {
    let mut chosen = Vec::new();
    for name in list.split(',').map(str::trim) {
        let way: Way = name.parse()?;
        if chosen.contains(&way) {
            bail!("{name} is named twice in {list:?}");
        }
        chosen.push(way);
    }
    Ok(Way::ALL
        .into_iter()
        .filter(|way| chosen.contains(way))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ways_parse_in_a_fixed_order_and_refuse_unknown_or_repeated_names() {
        assert_eq!(
            parse_ways("project,naive").unwrap(),
            [Way::Naive, Way::Project]
        );
        assert_eq!(parse_ways("naive,cargo-chef,project").unwrap(), Way::ALL);
        assert!(parse_ways("naive,docker").is_err());
        assert!(parse_ways("naive,naive").is_err());
    }
}
