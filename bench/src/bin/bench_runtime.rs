//! Start and stop times of the runner image, beside the start of a trivial
//! container on the same base image, measured in the same run (B3).
//!
//! Usage: cargo run -p bench --bin bench_runtime -- [--runs N] [--image IMAGE]
//!
//! Without --image, the runner is built (or found up to date) through
//! ci/build_images.sh, as the test suite does. Needs the same host as the
//! suite: a Docker Engine and the project's registry (ci/bootstrap_host.sh).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use bench::command_exit::exit_code;
use integration_suite::builds::project_images::{Target, project_image};
use integration_suite::containers::startup_timing::{median, time_service, time_trivial_container};
use integration_suite::engine::host::host;

const DEFAULT_RUNS: usize = 5;
const USAGE: &str = "usage: bench_runtime [--runs N] [--image IMAGE]";

struct Options {
    runs: usize,
    image: Option<String>,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options> {
    let mut options = Options {
        runs: DEFAULT_RUNS,
        image: None,
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => {
                let value = args.next().context("--runs needs a number")?;
                options.runs = value
                    .parse()
                    .ok()
                    .filter(|runs| *runs > 0)
                    .with_context(|| format!("--runs {value:?}: expected a number above 0"))?;
            }
            "--image" => options.image = Some(args.next().context("--image needs a name")?),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}; {USAGE}"),
        }
    }
    Ok(options)
}

fn ms(duration: Duration) -> String {
    format!("{:.0} ms", duration.as_secs_f64() * 1000.0)
}

async fn bench(options: Options) -> Result<()> {
    let host = host().await;
    let image = match options.image {
        Some(image) => image,
        None => project_image(Target::Runner).await?.id.clone(),
    };
    let base = host.base_images().runner.reference.clone();
    println!("service image: {image}");
    println!("trivial run: a container running `true` on {base}, from create to exit");
    println!(
        "{:<8}{:>18}{:>18}{:>18}",
        "run", "trivial run", "start to ready", "stop to exit"
    );
    let (mut trivial, mut ready, mut stop) = (Vec::new(), Vec::new(), Vec::new());
    for run in 1..=options.runs {
        let trivial_start = time_trivial_container(host.docker(), &base).await?;
        let service = time_service(host.docker(), &image).await?;
        if service.exit_code != 0 {
            bail!(
                "run {run}: the service exited {} on docker stop",
                service.exit_code
            );
        }
        println!(
            "{run:<8}{:>18}{:>18}{:>18}",
            ms(trivial_start),
            ms(service.start_to_ready),
            ms(service.stop_to_exit)
        );
        trivial.push(trivial_start);
        ready.push(service.start_to_ready);
        stop.push(service.stop_to_exit);
    }
    println!(
        "{:<8}{:>18}{:>18}{:>18}",
        "median",
        ms(median(&trivial)),
        ms(median(&ready)),
        ms(median(&stop))
    );
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    exit_code(match parse(std::env::args().skip(1)) {
        Ok(options) => bench(options).await,
        Err(error) => Err(error),
    })
}
