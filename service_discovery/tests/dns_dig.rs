//! The `dig` commands of the original README, run as they are against a
//! real server: the compatibility promise, checked with the tool users run.
//! Needs `dig` (Debian's dnsutils).

mod dns_support;
mod front_end_support;

use dns_support::DnsServer;
use front_end_support::seeded_storage;

/// Runs `dig -p PORT @127.0.0.1 ARGS...` and returns its standard output.
async fn dig(server: &DnsServer, args: &[&str]) -> String {
    let output = tokio::process::Command::new("dig")
        .arg("-p")
        .arg(server.addr.port().to_string())
        .arg(format!("@{}", server.addr.ip()))
        .args(args)
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run dig ({e}): install Debian's dnsutils package"));
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(output.status.success(), "dig {args:?} failed:\n{stdout}");
    stdout
}

/// dig's answer lines with runs of blanks collapsed to one space.
fn answer_lines(output: &str) -> Vec<String> {
    output
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with(';'))
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

#[tokio::test]
async fn dig_srv_query_of_the_original_readme_answers_the_http_port() {
    let server = DnsServer::start(seeded_storage().await).await;

    // Exactly the README's command, with only the port and server changed.
    let full = dig(&server, &["_http._tcp.webapp.svc.cluster.local", "SRV"]).await;
    assert!(full.contains("status: NOERROR"), "{full}");
    assert!(
        full.contains("flags: qr aa"),
        "answer not authoritative:\n{full}"
    );
    assert_eq!(
        answer_lines(&full),
        ["_http._tcp.webapp.svc.cluster.local. 3600 IN SRV 1 1 8000 webapp.svc.cluster.local."]
    );

    for transport in ["+notcp", "+tcp"] {
        let short = dig(
            &server,
            &[
                "_http._tcp.webapp.svc.cluster.local",
                "SRV",
                "+short",
                transport,
            ],
        )
        .await;
        assert_eq!(short, "1 1 8000 webapp.svc.cluster.local.\n", "{transport}");
    }
}

#[tokio::test]
async fn dig_a_and_aaaa_answer_the_endpoints() {
    let server = DnsServer::start(seeded_storage().await).await;
    let a = dig(&server, &["webapp.svc.cluster.local", "A", "+short"]).await;
    assert_eq!(a, "127.0.0.1\n");
    let aaaa = dig(
        &server,
        &["webapp.svc.cluster.local", "AAAA", "+short", "+tcp"],
    )
    .await;
    assert_eq!(aaaa, "::1\n");
}

#[tokio::test]
async fn dig_answers_keep_the_spelling_of_the_question() {
    let server = DnsServer::start(seeded_storage().await).await;
    let output = dig(
        &server,
        &["WebApp.SVC.cluster.LOCAL", "A", "+noall", "+answer"],
    )
    .await;
    assert_eq!(
        answer_lines(&output),
        ["WebApp.SVC.cluster.LOCAL. 3600 IN A 127.0.0.1"]
    );
}

#[tokio::test]
async fn dig_reports_nxdomain_inside_and_refused_outside_the_zone() {
    let server = DnsServer::start(seeded_storage().await).await;
    let unknown = dig(&server, &["nothing.svc.cluster.local", "A"]).await;
    assert!(unknown.contains("status: NXDOMAIN"), "{unknown}");
    assert!(
        unknown.contains("AUTHORITY: 1"),
        "NXDOMAIN without SOA:\n{unknown}"
    );

    let outside = dig(&server, &["example.com", "A", "+tcp"]).await;
    assert!(outside.contains("status: REFUSED"), "{outside}");
}
