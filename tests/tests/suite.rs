//! The integration suite. One test binary, so the host fixture (engine,
//! registry, mirrored base images) is prepared once per run; one module per
//! part of the claims ledger, under `tests/suite/`.

mod suite {
    mod architecture_claims;
    mod b6_base_images;
    mod book_browser;
    mod book_claims;
    mod book_doctest;
    mod book_links;
    mod book_render;
    mod book_stage_graph;
    mod cache_layers;
    mod cache_rebuilds;
    mod cache_refresh;
    mod cache_remote;
    mod cache_script_flags;
    mod ci_dockerfile_cb;
    mod ci_drift;
    mod ci_validators;
    mod contract_payloads;
    mod deploy_manifests;
    mod host_leftovers;
    mod image_build_script;
    mod image_dockerfile;
    mod image_rebuilds;
    mod image_reproducible;
    mod image_runners;
    mod image_stages;
    mod private_deps_git_ssh;
    mod private_deps_registry;
    mod run_startup_time;
    mod template_names;
    mod template_rename;
}
