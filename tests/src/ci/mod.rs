//! The CI definitions and the scripts they call: the commands each
//! definition runs, the validators that check the files, the scripts' own
//! usage text and error line, and a recording `docker` for their dry runs.

pub mod definitions;
pub mod recorded_docker;
pub mod script_error;
pub mod script_usage;
pub mod validators;
