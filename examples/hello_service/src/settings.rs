//! Settings come from the environment only: that is how a container runtime
//! configures a process, and it keeps the command line to one word.

use std::env;
use std::num::NonZeroU16;
use std::time::Duration;

pub struct Settings {
    pub port: u16,
    /// How long /ready answers 503 before the server stops accepting, so
    /// that load balancers take the instance out of rotation first.
    pub shutdown_delay: Duration,
}

impl Settings {
    pub fn from_env() -> Result<Self, String> {
        let port = read("HTTP_PORT", 3000, "a port number (1-65535)", |value| {
            value.parse::<NonZeroU16>().ok().map(NonZeroU16::get)
        })?;
        let delay_ms = read(
            "SHUTDOWN_DELAY_MS",
            1000,
            "a whole number of milliseconds",
            |value| value.parse::<u64>().ok(),
        )?;
        Ok(Self {
            port,
            shutdown_delay: Duration::from_millis(delay_ms),
        })
    }
}

/// An unset variable takes its default; a set but invalid one is an error,
/// never silently replaced, so a typo in a deployment shows at once.
fn read<T>(
    name: &str,
    default: T,
    expected: &str,
    parse: impl FnOnce(&str) -> Option<T>,
) -> Result<T, String> {
    let Some(raw) = env::var_os(name) else {
        return Ok(default);
    };
    raw.to_str()
        .and_then(parse)
        .ok_or_else(|| format!("{name}={raw:?} is not {expected}"))
}
