//! The CI definitions and the scripts they call: the commands each
//! definition runs, the validators that check the files, the scripts' own
//! usage text and error line, a recording `docker` for their dry runs, and
//! checkov's report.

pub mod checkov;
pub mod definitions;
pub mod recorded_docker;
pub mod script_error;
pub mod script_usage;
pub mod validators;
