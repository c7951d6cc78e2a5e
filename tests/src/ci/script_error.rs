//! The project's scripts end a failure with one line saying what to do,
//! `error: ...` (`ci_die` in `ci/lib.sh`); the suite passes that line on
//! instead of the script's whole output.

/// The last non-empty line of a script's stderr, without its `error: `
/// prefix; `None` when the script printed nothing.
pub fn script_reason(stderr: &[u8]) -> Option<String> {
    String::from_utf8_lossy(stderr)
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .map(|line| line.trim_start_matches("error: ").to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_the_last_line_without_its_prefix() {
        let stderr = b"apt output\nerror: mdbook is not installed: run ci/setup.sh\n\n";
        assert_eq!(
            script_reason(stderr).as_deref(),
            Some("mdbook is not installed: run ci/setup.sh")
        );
        assert_eq!(script_reason(b"  \n"), None);
    }
}
