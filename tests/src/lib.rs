//! Shared fixtures of the integration suite: the container host (engine,
//! registry, mirrored base images) and helpers grouped by concern.
//!
//! Every test starts with [`host::host`], which makes sure the host is ready
//! once per test run and ends the run with one clear line when it is not.

pub mod base_images;
pub mod bench;
pub mod book;
pub mod build_log;
pub mod build_progress;
pub mod build_script;
pub mod buildah;
pub mod buildx;
pub mod cargo_cache_mount;
pub mod checked_command;
pub mod ci_definitions;
pub mod command_exit;
pub mod container;
pub mod container_contract;
pub mod container_diff;
pub mod container_exec;
pub mod contract_checks;
pub mod deploy_manifests;
pub mod docker_cli;
pub mod dockerfile;
pub mod dockerfile_cb;
pub mod fixture_files;
pub mod fixture_server;
pub mod fresh_engine;
pub mod git_server;
pub mod host;
pub mod image_config;
pub mod image_fs;
pub mod image_identity;
pub mod installed_tools;
pub mod leak_scan;
pub mod leftovers;
pub mod load_generator;
pub mod orphans;
pub mod private_registry;
pub mod process_table;
pub mod project_images;
pub mod recorded_docker;
pub mod registry;
pub mod registry_content;
pub mod repo;
pub mod repo_copy;
pub mod repo_edits;
pub mod run_report;
pub mod runner_contract;
pub mod script_build;
pub mod script_error;
pub mod script_usage;
pub mod second_payload;
pub mod service_container;
pub mod service_package;
pub mod startup_timing;
pub mod tty_session;
pub mod validators;
