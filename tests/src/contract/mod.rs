//! The container contract: the table a service declares in its manifest,
//! the package that declares it, the checks any payload's images are held
//! to, and the second payload that proves those checks know no service.

pub mod checks;
pub mod runner;
pub mod second_payload;
pub mod service_package;
pub mod table;
