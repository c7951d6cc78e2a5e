//! The service's own layer of the suite. One test binary, so the host
//! fixture is prepared once for the layer; one module per part of the
//! claims ledger, under `tests/suite/`, named as in the pipeline layer.

mod suite {
    mod b4_isolation;
    mod compose_stack;
    mod postgres_image_contract;
    mod postgres_migrations;
    mod postgres_outage;
    mod postgres_schema;
    mod postgres_storage_contract;
    mod run_filesystem;
    mod run_foreground_and_console;
    mod run_graceful_shutdown;
    mod run_remote_console;
    mod run_shell_access;
    mod run_unprivileged;
    mod run_zombies;
}
