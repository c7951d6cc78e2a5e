//! The HTTP API contract, against a real server on an ephemeral port:
//! the original README's `curl` flow and every route of the API.

mod service_support;

use reqwest::StatusCode;
use serde_json::json;
use service_support::api::Api;
use service_support::redact_ids;

#[tokio::test]
async fn readme_curl_flow_creates_registers_and_adds_a_port() {
    let api = Api::start().await;
    let created = api
        .put(
            "/service",
            r#"{"name": "webapp", "attributes": {"attr-1": "value-1"}}"#,
        )
        .await;
    assert_eq!(created.status, StatusCode::OK);
    assert_eq!(created.content_type.as_deref(), Some("application/json"));
    let id = created.json()["id"].as_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "id is a UUID: {id}");
    insta::assert_json_snapshot!("create_service_response", redact_ids(created.json()));

    let registered = api
        .put(
            "/service/webapp/register",
            r#"{"ip": "127.0.0.1", "tags": []}"#,
        )
        .await;
    assert_eq!(registered.status, StatusCode::OK);
    insta::assert_json_snapshot!("register_endpoint_response", registered.json());

    let ports = api
        .put(
            "/service/webapp/port",
            r#"{"http": {"protocol": "tcp", "port": 8000}}"#,
        )
        .await;
    assert_eq!(ports.status, StatusCode::OK);
    insta::assert_json_snapshot!("add_ports_response", ports.json());

    let service = api.get("/service/webapp").await;
    assert_eq!(service.status, StatusCode::OK);
    insta::assert_json_snapshot!("get_service_response", service.json());
    let endpoints = api.get("/service/webapp/endpoints").await;
    insta::assert_json_snapshot!("get_endpoints_response", endpoints.json());
    let services = api.get("/services").await;
    insta::assert_json_snapshot!("list_services_response", services.json());
}

#[tokio::test]
async fn create_accepts_named_ports_and_answers_a_fresh_id_each_time() {
    let api = Api::start().await;
    let body = |name: &str| {
        json!({
            "name": name,
            "attributes": {},
            "named_ports": {"grpc": {"protocol": "tcp", "port": 8081}, "dns": {"protocol": "udp", "port": 53}},
        })
        .to_string()
    };
    let first = api.put("/service", &body("one")).await.json();
    let second = api.put("/service", &body("two")).await.json();
    assert_ne!(first["id"], second["id"]);
    let service = api.get("/service/two").await.json();
    assert_eq!(
        service["named_ports"]["dns"],
        json!({"protocol": "udp", "port": 53})
    );
    assert_eq!(
        service["named_ports"]["grpc"],
        json!({"protocol": "tcp", "port": 8081})
    );
}

#[tokio::test]
async fn attributes_and_tags_may_be_left_out() {
    let api = Api::start().await;
    assert_eq!(
        api.put("/service", r#"{"name": "bare"}"#).await.status,
        StatusCode::OK
    );
    let registered = api
        .put("/service/bare/register", r#"{"ip": "10.0.0.1"}"#)
        .await;
    assert_eq!(
        registered.json(),
        json!({"service_name": "bare", "ip": "10.0.0.1", "tags": []})
    );
    assert_eq!(
        api.get("/service/bare").await.json(),
        json!({"name": "bare", "attributes": {}, "named_ports": {}})
    );
}

#[tokio::test]
async fn ports_route_adds_and_replaces_without_dropping_others() {
    let api = Api::start().await;
    api.seed_webapp().await;
    let answer = api
        .put(
            "/service/webapp/ports",
            r#"{"http": {"protocol": "tcp", "port": 9000}, "metrics": {"protocol": "tcp", "port": 9100}}"#,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.json()["named_ports"],
        json!({
            "http": {"protocol": "tcp", "port": 9000},
            "metrics": {"protocol": "tcp", "port": 9100},
        })
    );
}

#[tokio::test]
async fn ipv4_and_ipv6_endpoints_are_listed_in_registration_order() {
    let api = Api::start().await;
    api.seed_webapp().await;
    let v6 = api
        .put(
            "/service/webapp/register",
            r#"{"ip": "2001:db8::1", "tags": ["canary"]}"#,
        )
        .await;
    assert_eq!(v6.status, StatusCode::OK);
    let ips: Vec<String> = api
        .get("/service/webapp/endpoints")
        .await
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["ip"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ips, ["127.0.0.1", "2001:db8::1"]);
}

#[tokio::test]
async fn registering_an_address_again_replaces_its_tags() {
    let api = Api::start().await;
    api.seed_webapp().await;
    api.put(
        "/service/webapp/register",
        r#"{"ip": "127.0.0.1", "tags": ["v2"]}"#,
    )
    .await;
    let endpoints = api.get("/service/webapp/endpoints").await.json();
    assert_eq!(
        endpoints,
        json!([{"service_name": "webapp", "ip": "127.0.0.1", "tags": ["v2"]}])
    );
}

#[tokio::test]
async fn names_are_case_insensitive_everywhere() {
    let api = Api::start().await;
    assert_eq!(
        api.put("/service", r#"{"name": "WebApp"}"#).await.status,
        StatusCode::OK
    );
    let dup = api.put("/service", r#"{"name": "webapp"}"#).await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    let registered = api
        .put("/service/WEBAPP/register", r#"{"ip": "::1"}"#)
        .await;
    assert_eq!(registered.status, StatusCode::OK);
    let ports = api
        .put(
            "/service/webApp/ports",
            r#"{"HTTP": {"protocol": "tcp", "port": 80}}"#,
        )
        .await;
    assert_eq!(
        ports.json()["named_ports"],
        json!({"http": {"protocol": "tcp", "port": 80}})
    );
    assert_eq!(api.get("/service/WEBapp").await.json()["name"], "webapp");
    assert_eq!(
        api.get("/service/webAPP/endpoints").await.json()[0]["ip"],
        "::1"
    );
}

#[tokio::test]
async fn pretty_true_indents_get_responses() {
    let api = Api::start().await;
    api.seed_webapp().await;
    for path in ["/services", "/service/webapp", "/service/webapp/endpoints"] {
        let compact = api.get(path).await;
        let pretty = api.get(&format!("{path}?pretty=true")).await;
        assert!(!compact.text.contains('\n'), "{path}: compact by default");
        assert!(
            pretty.text.contains("\n  "),
            "{path}: indented with ?pretty=true"
        );
        assert_eq!(
            compact.json(),
            pretty.json(),
            "{path}: same document either way"
        );
    }
    let pretty = api.get("/service/webapp?pretty=true").await;
    insta::assert_snapshot!("get_service_pretty_body", pretty.text);
    let bare_flag = api.get("/service/webapp?pretty").await;
    assert_eq!(bare_flag.text, pretty.text);
    let off = api.get("/service/webapp?pretty=false").await;
    assert!(!off.text.contains('\n'));
}

#[tokio::test]
async fn empty_store_lists_no_services() {
    let api = Api::start().await;
    let services = api.get("/services").await;
    assert_eq!(services.status, StatusCode::OK);
    assert_eq!(services.json(), json!([]));
}

#[tokio::test]
async fn healthz_is_alive_and_ready_turns_503_on_shutdown() {
    let api = Api::start().await;
    let alive = api.get("/healthz").await;
    assert_eq!(
        (alive.status, alive.json()),
        (StatusCode::OK, json!({"status": "alive"}))
    );
    let ready = api.get("/ready").await;
    assert_eq!(
        (ready.status, ready.json()),
        (StatusCode::OK, json!({"status": "ready"}))
    );

    api.readiness.begin_shutdown();
    let draining = api.get("/ready").await;
    assert_eq!(draining.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(draining.error(), "not ready: shutting down");
    assert_eq!(
        api.get("/healthz").await.status,
        StatusCode::OK,
        "still alive while draining"
    );
}

#[tokio::test]
async fn json_content_type_is_accepted_as_well_as_curls_default() {
    let api = Api::start().await;
    let response = api
        .client
        .put(format!("{}/service", api.base))
        .header("content-type", "application/json; charset=utf-8")
        .body(r#"{"name": "typed"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let untyped = api
        .client
        .put(format!("{}/service", api.base))
        .body(r#"{"name": "untyped"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(untyped.status(), StatusCode::OK);
}
