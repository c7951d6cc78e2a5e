//! The Kubernetes manifests in `deploy/kubernetes`: valid for the API they
//! target, clean for checkov but for the skips they give reasons for, and in
//! agreement with the container contract, the image and the service they
//! run. Each validator is first shown a broken manifest, so one that checks
//! nothing cannot pass; the agreement checks read each fact from its one
//! place, so a change there or in a manifest fails them.

use std::collections::BTreeSet;

use anyhow::Result;
use integration_suite::ci::checkov::checkov;
use integration_suite::ci::validators::{validate, validate_in};
use integration_suite::contract::service_package::service_package;
use integration_suite::contract::table::ContainerContract;
use integration_suite::deploy::manifests::{
    EnvValue, KUBERNETES_VERSION, KUSTOMIZATION, MANIFESTS_DIR, Manifest, container_env,
    kubernetes_name, kustomization_resources, liveness_route, manifest_files, manifests, only,
    runner_image, runner_user, service_subcommands, service_variables, shutdown_timeout_default,
};
use integration_suite::repo::{repo_path, repo_root};
use yaml_rust2::Yaml;

/// The subcommand the migration Job runs: the service's, not the contract's
/// (a service without a database has none).
const MIGRATE: &str = "migrate";

/// A Deployment whose only fault is a misspelled field, which only strict
/// validation notices.
const MISSPELLED_DEPLOYMENT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: misspelled
spec:
  selector:
    matchLabels: {app: misspelled}
  template:
    metadata:
      labels: {app: misspelled}
    spec:
      containers:
        - name: misspelled
          image: example:1
          readinesProbe:
            httpGet: {path: /ready, port: 3000}
";

/// A pod running privileged, which checkov reports as CKV_K8S_16.
const PRIVILEGED_POD: &str = "\
apiVersion: v1
kind: Pod
metadata:
  name: privileged
spec:
  containers:
    - name: privileged
      image: example:1
      securityContext:
        privileged: true
";

#[tokio::test]
async fn deploy_manifests_match_the_kubernetes_schemas() -> Result<()> {
    let strict = ["--strict", "--kubernetes-version", KUBERNETES_VERSION];
    let broken = tempfile::tempdir()?;
    std::fs::write(broken.path().join("deployment.yaml"), MISSPELLED_DEPLOYMENT)?;
    let mut arguments = strict.to_vec();
    arguments.push("deployment.yaml");
    let verdict = validate_in(broken.path(), "kubernetes-validate", &arguments).await?;
    verdict.assert_rejected("kubernetes-validate", "'readinesProbe' was unexpected");

    let files: Vec<String> = manifest_files()?
        .iter()
        .map(|path| format!("{MANIFESTS_DIR}/{}", path.file_name().unwrap().display()))
        .collect();
    let mut arguments = strict.to_vec();
    arguments.extend(files.iter().map(String::as_str));
    let verdict = validate("kubernetes-validate", &arguments).await?;
    assert!(
        verdict.passed,
        "kubernetes-validate failed:\n{}",
        verdict.output
    );
    // A kind without a schema only earns a warning: each file must have
    // been checked against one.
    for file in &files {
        assert!(
            verdict
                .output
                .contains(&format!("{file} passed for resource")),
            "{file} was not checked against a schema:\n{}",
            verdict.output
        );
    }
    Ok(())
}

/// Where a skip says it is: file and check.
type SkipKey = (String, String);

/// The skips the manifests declare, with their reasons; a skip checkov
/// would not read, or one without a reason, is a problem.
fn declared_skips(
    manifests: &[Manifest],
    problems: &mut Vec<String>,
) -> Result<BTreeSet<(SkipKey, String)>> {
    let mut skips = BTreeSet::new();
    for manifest in manifests {
        let text = std::fs::read_to_string(repo_path(MANIFESTS_DIR).join(&manifest.file))?;
        if text.contains("checkov:skip") {
            problems.push(format!(
                "{}: checkov reads no skip comments in Kubernetes files: use a checkov.io/skipN annotation",
                manifest.file
            ));
        }
        for (key, value) in manifest.checkov_skip_annotations() {
            let Some((id, reason)) = value.split_once('=') else {
                problems.push(format!(
                    "{}: {key}: {value:?} gives no reason (write CKV_K8S_N=why)",
                    manifest.file
                ));
                continue;
            };
            let known_id = ["CKV_K8S_", "CKV2_K8S_"].iter().any(|prefix| {
                id.strip_prefix(prefix)
                    .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
            });
            if !known_id {
                problems.push(format!(
                    "{}: {key}: {id:?} is no Kubernetes check id",
                    manifest.file
                ));
            }
            // checkov splits the value at every '=', and a reason of a word
            // or two says nothing.
            if reason.contains('=') || reason.split_whitespace().count() < 4 {
                problems.push(format!(
                    "{}: {key}: {reason:?} is no reason (a sentence, without '=')",
                    manifest.file
                ));
            }
            skips.insert((
                (manifest.file.clone(), id.to_owned()),
                reason.trim().to_owned(),
            ));
        }
    }
    Ok(skips)
}

#[tokio::test]
async fn deploy_manifests_pass_checkov() -> Result<()> {
    let broken = tempfile::tempdir()?;
    std::fs::write(broken.path().join("pod.yaml"), PRIVILEGED_POD)?;
    let report = checkov(broken.path(), &["kubernetes"], &["."]).await?;
    assert!(
        !report.verdict.passed && report.failed.iter().any(|f| f.check_id == "CKV_K8S_16"),
        "checkov did not report the privileged pod as CKV_K8S_16:\n{}",
        report.verdict.output
    );

    let report = checkov(repo_root(), &["kubernetes"], &[MANIFESTS_DIR]).await?;
    report.assert_clean();
    let manifests = manifests()?;
    // Most of checkov's policies concern pods: both pod templates must
    // have been held to them (a Namespace or a budget has none).
    let checked: BTreeSet<&str> = report.passed.iter().map(|f| f.file.as_str()).collect();
    for workload in [only(&manifests, "Deployment")?, only(&manifests, "Job")?] {
        assert!(
            checked.contains(workload.file.as_str()),
            "checkov checked nothing in {}:\n{}",
            workload.file,
            report.verdict.output
        );
    }

    let mut problems = Vec::new();
    let declared = declared_skips(&manifests, &mut problems)?;
    let applied: BTreeSet<(SkipKey, String)> = report
        .skipped
        .iter()
        .map(|f| {
            (
                (f.file.clone(), f.check_id.clone()),
                f.comment.trim().to_owned(),
            )
        })
        .collect();
    if declared != applied {
        problems.push(format!(
            "the skips the manifests declare are not the ones checkov applied:\n  declared {declared:?}\n  applied  {applied:?}"
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(())
}

/// Collects what disagrees, to report it all at once.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn check(&mut self, holds: bool, problem: impl FnOnce() -> String) {
        if !holds {
            self.0.push(problem());
        }
    }
}

/// The ports of a list of Kubernetes port entries as the contract writes
/// them (`3000/tcp`), sorted; `number_key` is `containerPort` or `port`.
fn port_words(ports: &Yaml, number_key: &str) -> Vec<String> {
    let mut words: Vec<String> = ports
        .as_vec()
        .into_iter()
        .flatten()
        .map(|port| {
            let protocol = port["protocol"].as_str().unwrap_or("TCP");
            format!(
                "{}/{}",
                port[number_key].as_i64().unwrap_or_default(),
                protocol.to_ascii_lowercase()
            )
        })
        .collect();
    words.sort();
    words
}

/// Whether `selector` (matchLabels or a Service's selector) picks pods
/// labelled `labels`.
fn selects(selector: &Yaml, labels: &Yaml) -> bool {
    selector.as_hash().is_some_and(|selector| {
        selector
            .iter()
            .all(|(key, value)| &labels[key.as_str().unwrap_or_default()] == value)
    })
}

/// The volume `container` of `workload` mounts at `path`.
fn mounted_volume<'a>(workload: &'a Manifest, container: &Yaml, path: &str) -> Option<&'a Yaml> {
    let mount = container["volumeMounts"]
        .as_vec()?
        .iter()
        .find(|mount| mount["mountPath"].as_str() == Some(path))?;
    workload.pod_spec()["volumes"]
        .as_vec()?
        .iter()
        .find(|volume| volume["name"] == mount["name"])
}

/// The objects the agreement checks read, found once.
#[derive(Clone, Copy)]
struct Objects<'a> {
    contract: &'a ContainerContract,
    manifests: &'a [Manifest],
    deployment: &'a Manifest,
    job: &'a Manifest,
    service: &'a Manifest,
    budget: &'a Manifest,
    policy: &'a Manifest,
    /// The Deployment's container and the Job's.
    server: &'a Yaml,
    migrate: &'a Yaml,
}

impl Objects<'_> {
    /// Both workloads with their containers.
    fn workloads(&self) -> [(&Manifest, &Yaml); 2] {
        [(self.deployment, self.server), (self.job, self.migrate)]
    }
}

#[test]
fn deploy_manifests_agree_with_the_container_contract() -> Result<()> {
    let package = service_package()?;
    let manifests = manifests()?;
    let deployment = only(&manifests, "Deployment")?;
    let job = only(&manifests, "Job")?;
    let objects = Objects {
        contract: &package.contract,
        manifests: &manifests,
        deployment,
        job,
        service: only(&manifests, "Service")?,
        budget: only(&manifests, "PodDisruptionBudget")?,
        policy: only(&manifests, "NetworkPolicy")?,
        server: deployment.container()?,
        migrate: job.container()?,
    };
    let mut problems = Problems::default();
    for check in [
        kustomization,
        names,
        image_and_subcommands,
        ports,
        probes,
        security,
        shutdown,
        database,
        selectors,
    ] {
        check(objects, &mut problems)?;
    }
    assert!(problems.0.is_empty(), "{}", problems.0.join("\n"));
    Ok(())
}

/// The kustomization applies every manifest, and only those.
fn kustomization(objects: Objects<'_>, problems: &mut Problems) -> Result<()> {
    let Objects { manifests, .. } = objects;
    let mut listed = kustomization_resources()?;
    listed.sort();
    let mut files: Vec<String> = manifests.iter().map(|m| m.file.clone()).collect();
    files.sort();
    problems.check(listed == files, || {
        format!("{KUSTOMIZATION} lists {listed:?}, the directory holds {files:?}")
    });
    Ok(())
}

/// Named after the package, in the form Kubernetes names take.
fn names(objects: Objects<'_>, problems: &mut Problems) -> Result<()> {
    let Objects { manifests, .. } = objects;
    let name = kubernetes_name()?;
    for manifest in manifests {
        let metadata = &manifest.document["metadata"];
        let namespace = if manifest.kind() == "Namespace" {
            &metadata["name"]
        } else {
            &metadata["namespace"]
        };
        problems.check(namespace.as_str() == Some(&name), || {
            format!(
                "{}: namespace {namespace:?}, expected {name}",
                manifest.file
            )
        });
        let label = &metadata["labels"]["app.kubernetes.io/name"];
        problems.check(label.as_str() == Some(&name), || {
            format!(
                "{}: app.kubernetes.io/name {label:?}, expected {name}",
                manifest.file
            )
        });
        problems.check(manifest.name().starts_with(&name), || {
            format!(
                "{}: {} should start with {name}",
                manifest.file,
                manifest.name()
            )
        });
    }
    Ok(())
}

/// The image ci/build_images.sh tags, run through its ENTRYPOINT (the
/// binary) with the subcommand as the only argument.
fn image_and_subcommands(objects: Objects<'_>, problems: &mut Problems) -> Result<()> {
    let Objects {
        contract,
        deployment,
        job,
        server,
        migrate,
        ..
    } = objects;
    let image = runner_image()?;
    let subcommands = service_subcommands()?;
    for (workload, container, subcommand) in [
        (deployment, server, contract.foreground.as_str()),
        (job, migrate, MIGRATE),
    ] {
        problems.check(container["image"].as_str() == Some(&image), || {
            format!(
                "{}: image {:?}, ci/build_images.sh tags {image}",
                workload.file, container["image"]
            )
        });
        problems.check(
            container["imagePullPolicy"].as_str() == Some("Always"),
            || {
                format!(
                    "{}: the branch tag moves, so imagePullPolicy must be Always",
                    workload.file
                )
            },
        );
        problems.check(container["command"].is_badvalue(), || {
            format!(
                "{}: command replaces the image's ENTRYPOINT: use args",
                workload.file
            )
        });
        let args = container["args"]
            .as_vec()
            .map(|args| args.iter().map(Yaml::as_str).collect::<Vec<_>>());
        problems.check(args == Some(vec![Some(subcommand)]), || {
            format!(
                "{}: args {args:?}, expected [{subcommand:?}]",
                workload.file
            )
        });
        problems.check(subcommands.iter().any(|known| known == subcommand), || {
            format!(
                "{}: the service has no subcommand {subcommand} (it has {subcommands:?})",
                workload.file
            )
        });
    }
    Ok(())
}

/// Every port the contract lists, nowhere one more.
fn ports(objects: Objects<'_>, problems: &mut Problems) -> Result<()> {
    let Objects {
        contract,
        deployment,
        service,
        policy,
        server,
        ..
    } = objects;
    let mut expected = contract.expose_words();
    expected.sort();
    let container_ports = port_words(&server["ports"], "containerPort");
    problems.check(container_ports == expected, || {
        format!(
            "{}: container ports {container_ports:?}, the contract lists {expected:?}",
            deployment.file
        )
    });
    let service_ports = port_words(&service.document["spec"]["ports"], "port");
    problems.check(service_ports == expected, || {
        format!(
            "{}: ports {service_ports:?}, the contract lists {expected:?}",
            service.file
        )
    });
    for port in service.document["spec"]["ports"]
        .as_vec()
        .into_iter()
        .flatten()
    {
        let target = &port["targetPort"];
        let protocol = &port["protocol"];
        let resolved = server["ports"]
            .as_vec()
            .into_iter()
            .flatten()
            .find(|candidate| {
                (&candidate["name"] == target || &candidate["containerPort"] == target)
                    && &candidate["protocol"] == protocol
            });
        problems.check(
            resolved.is_some_and(|resolved| resolved["containerPort"] == port["port"]),
            || {
                format!(
                    "{}: targetPort {target:?} is not the container's port {:?}",
                    service.file, port["port"]
                )
            },
        );
    }
    let allowed: Vec<Yaml> = policy.document["spec"]["ingress"]
        .as_vec()
        .into_iter()
        .flatten()
        .flat_map(|rule| rule["ports"].as_vec().cloned().unwrap_or_default())
        .collect();
    let allowed = port_words(&Yaml::Array(allowed), "port");
    problems.check(allowed == expected, || {
        format!(
            "{}: lets in {allowed:?}, the contract lists {expected:?}",
            policy.file
        )
    });
    Ok(())
}

/// Probes: readiness where the contract says, liveness on the handler
/// that checks only that the process answers.
fn probes(objects: Objects<'_>, problems: &mut Problems) -> Result<()> {
    let Objects {
        contract,
        deployment,
        server,
        ..
    } = objects;
    let liveness = liveness_route()?;
    let port = i64::from(contract.readiness.port);
    for (probe, path) in [
        ("readinessProbe", contract.readiness.path.as_str()),
        ("livenessProbe", liveness.as_str()),
        ("startupProbe", liveness.as_str()),
    ] {
        let get = &server[probe]["httpGet"];
        problems.check(
            get["path"].as_str() == Some(path) && get["port"].as_i64() == Some(port),
            || {
                format!(
                    "{}: {probe} asks {:?} on {:?}, expected {path} on {port}",
                    deployment.file, get["path"], get["port"]
                )
            },
        );
    }
    Ok(())
}

/// Run as the image's user, on a read-only root with the contract's one
/// writable directory, and the Job exactly as the replicas.
fn security(objects: Objects<'_>, problems: &mut Problems) -> Result<()> {
    let Objects {
        contract,
        deployment,
        job,
        server,
        migrate,
        ..
    } = objects;
    let (uid, gid) = runner_user()?;
    let pod_security = &deployment.pod_spec()["securityContext"];
    problems.check(
        pod_security["runAsUser"].as_i64() == Some(i64::from(uid))
            && pod_security["runAsGroup"].as_i64() == Some(i64::from(gid))
            && pod_security["runAsNonRoot"].as_bool() == Some(true)
            && pod_security["seccompProfile"]["type"].as_str() == Some("RuntimeDefault"),
        || {
            format!(
                "{}: pod securityContext {pod_security:?}, the image runs as {uid}:{gid}",
                deployment.file
            )
        },
    );
    let security = &server["securityContext"];
    let drop = security["capabilities"]["drop"]
        .as_vec()
        .map(|drop| drop.iter().map(Yaml::as_str).collect::<Vec<_>>());
    problems.check(
        security["allowPrivilegeEscalation"].as_bool() == Some(false)
            && security["readOnlyRootFilesystem"].as_bool() == Some(true)
            && drop == Some(vec![Some("ALL")]),
        || {
            format!(
                "{}: container securityContext {security:?}",
                deployment.file
            )
        },
    );
    problems.check(
        &job.pod_spec()["securityContext"] == pod_security
            && migrate["securityContext"] == *security,
        || {
            format!(
                "{}: the security contexts differ from {}'s",
                job.file, deployment.file
            )
        },
    );
    for (workload, container) in objects.workloads() {
        let volume = mounted_volume(workload, container, &contract.writable);
        problems.check(
            volume.is_some_and(|volume| !volume["emptyDir"].is_badvalue()),
            || {
                format!(
                    "{}: no emptyDir mounted at {}, the contract's writable directory",
                    workload.file, contract.writable
                )
            },
        );
    }
    Ok(())
}

/// The kubelet's SIGKILL must come after the service's own bound on its
/// shutdown, whether set here or left at its default.
fn shutdown(objects: Objects<'_>, problems: &mut Problems) -> Result<()> {
    let Objects {
        manifests,
        deployment,
        server,
        ..
    } = objects;
    let env = container_env(manifests, server)?;
    let timeout = match env.get("SHUTDOWN_TIMEOUT") {
        Some(EnvValue::Text(seconds)) => seconds.parse::<f64>().unwrap_or(f64::INFINITY),
        Some(_) => f64::INFINITY,
        None => shutdown_timeout_default()? as f64,
    };
    let grace = deployment.pod_spec()["terminationGracePeriodSeconds"].as_i64();
    problems.check(grace.is_some_and(|grace| grace as f64 > timeout), || {
        format!("{}: terminationGracePeriodSeconds {grace:?} must exceed SHUTDOWN_TIMEOUT ({timeout} s)", deployment.file)
    });
    Ok(())
}

/// One database for both, a password from a mounted Secret, and only
/// variables the service reads.
fn database(objects: Objects<'_>, problems: &mut Problems) -> Result<()> {
    let Objects {
        manifests,
        deployment,
        job,
        server,
        migrate,
        ..
    } = objects;
    let env = container_env(manifests, server)?;
    let job_env = container_env(manifests, migrate)?;
    problems.check(job_env == env, || {
        format!(
            "{}: its variables {job_env:?} differ from {}'s {env:?}",
            job.file, deployment.file
        )
    });
    let variables = service_variables()?;
    for variable in env.keys() {
        problems.check(variables.contains(variable), || {
            format!(
                "{}: the service reads no {variable} (it reads {variables:?})",
                deployment.file
            )
        });
    }
    problems.check(
        matches!(env.get("DB_HOST"), Some(EnvValue::Text(host)) if !host.is_empty()),
        || {
            format!(
                "{}: DB_HOST is unset, so each replica would keep its own in-memory store",
                deployment.file
            )
        },
    );
    problems.check(!env.contains_key("DB_PASSWORD"), || {
        format!(
            "{}: DB_PASSWORD is in the environment: mount the Secret and set DB_PASSWORD_FILE",
            deployment.file
        )
    });
    for (workload, container) in objects.workloads() {
        let password_file = match env.get("DB_PASSWORD_FILE") {
            Some(EnvValue::Text(path)) => path.as_str(),
            _ => "",
        };
        let (dir, file) = password_file.rsplit_once('/').unwrap_or_default();
        let secret = mounted_volume(workload, container, dir).map(|volume| &volume["secret"]);
        let holds_file = secret.is_some_and(|secret| {
            !secret.is_badvalue()
                && secret["items"].as_vec().is_none_or(|items| {
                    items.iter().any(|item| item["path"].as_str() == Some(file))
                })
        });
        problems.check(holds_file, || {
            format!(
                "{}: DB_PASSWORD_FILE {password_file:?} is not in a mounted Secret",
                workload.file
            )
        });
    }
    Ok(())
}

/// The Service and the budget cover the replicas, not the Job's pod, and
/// the budget lets a drain proceed while keeping some replicas up.
fn selectors(objects: Objects<'_>, problems: &mut Problems) -> Result<()> {
    let Objects {
        deployment,
        job,
        service,
        budget,
        policy,
        ..
    } = objects;
    let server_labels = &deployment.document["spec"]["template"]["metadata"]["labels"];
    let job_labels = &job.document["spec"]["template"]["metadata"]["labels"];
    for (what, selector) in [
        (&service.file, &service.document["spec"]["selector"]),
        (
            &budget.file,
            &budget.document["spec"]["selector"]["matchLabels"],
        ),
        (
            &policy.file,
            &policy.document["spec"]["podSelector"]["matchLabels"],
        ),
    ] {
        problems.check(selects(selector, server_labels), || {
            format!(
                "{what}: selector {selector:?} misses {}'s pods",
                deployment.file
            )
        });
    }
    for (what, selector) in [
        (&service.file, &service.document["spec"]["selector"]),
        (
            &budget.file,
            &budget.document["spec"]["selector"]["matchLabels"],
        ),
    ] {
        problems.check(!selects(selector, job_labels), || {
            format!("{what}: selector {selector:?} takes in the migration Job's pod")
        });
    }
    let replicas = deployment.document["spec"]["replicas"]
        .as_i64()
        .unwrap_or(1);
    let spec = &budget.document["spec"];
    let kept = match (
        spec["maxUnavailable"].as_i64(),
        spec["minAvailable"].as_i64(),
    ) {
        (Some(unavailable), None) => replicas - unavailable,
        (None, Some(available)) => available,
        _ => -1,
    };
    problems.check((1..replicas).contains(&kept), || {
        format!("{}: keeps {kept} of {replicas} replicas: a drain must be able to evict one, and one must stay", budget.file)
    });
    Ok(())
}
