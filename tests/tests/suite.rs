//! The integration suite. One test binary, so the host fixture (engine,
//! registry, mirrored base images) is prepared once per run; one module per
//! part of the claims ledger, under `tests/suite/`.

mod suite {
    mod b4_isolation;
    mod b6_base_images;
    mod book_browser;
    mod book_claims;
    mod book_doctest;
    mod book_links;
    mod book_render;
    mod cache_layers;
    mod cache_rebuilds;
    mod cache_refresh;
    mod cache_remote;
    mod cache_script_flags;
    mod ci_dockerfile_cb;
    mod ci_drift;
    mod ci_validators;
    mod compose_stack;
    mod contract_payloads;
    mod image_build_script;
    mod image_dockerfile;
    mod image_rebuilds;
    mod image_runners;
    mod image_stages;
    mod postgres_image_contract;
    mod postgres_migrations;
    mod postgres_outage;
    mod postgres_schema;
    mod postgres_storage_contract;
    mod private_deps_git_ssh;
    mod private_deps_registry;
    mod run_filesystem;
    mod run_foreground_and_console;
    mod run_graceful_shutdown;
    mod run_remote_console;
    mod run_shell_access;
    mod run_startup_time;
    mod run_unprivileged;
    mod run_zombies;
    mod template_names;
    mod template_rename;
}
