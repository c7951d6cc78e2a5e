//! Every bad input of the HTTP API: a JSON error naming the problem, the
//! right status, nothing stored, and the server still serving afterwards.

mod service_support;

use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde_json::json;
use service_support::api::Api;

struct Case {
    name: &'static str,
    method: Method,
    path: &'static str,
    body: Option<String>,
    status: StatusCode,
    /// A part of the message that names the problem.
    mentions: &'static str,
}

fn case(
    name: &'static str,
    method: Method,
    path: &'static str,
    body: Option<&str>,
    status: StatusCode,
    mentions: &'static str,
) -> Case {
    Case {
        name,
        method,
        path,
        body: body.map(str::to_owned),
        status,
        mentions,
    }
}

fn cases() -> Vec<Case> {
    use StatusCode as S;
    let put = Method::PUT;
    let get = Method::GET;
    vec![
        case(
            "malformed JSON",
            put.clone(),
            "/service",
            Some(r#"{"name": "x""#),
            S::BAD_REQUEST,
            "malformed JSON",
        ),
        case(
            "not JSON at all",
            put.clone(),
            "/service",
            Some("name=webapp"),
            S::BAD_REQUEST,
            "malformed JSON",
        ),
        case(
            "empty body",
            put.clone(),
            "/service",
            Some(""),
            S::BAD_REQUEST,
            "empty",
        ),
        case(
            "trailing garbage",
            put.clone(),
            "/service",
            Some(r#"{"name": "x"} x"#),
            S::BAD_REQUEST,
            "malformed JSON",
        ),
        case(
            "missing name",
            put.clone(),
            "/service",
            Some(r#"{"attributes": {}}"#),
            S::UNPROCESSABLE_ENTITY,
            "missing field `name`",
        ),
        case(
            "name of the wrong type",
            put.clone(),
            "/service",
            Some(r#"{"name": 42}"#),
            S::UNPROCESSABLE_ENTITY,
            "name: invalid type: integer `42`",
        ),
        case(
            "attribute value not a string",
            put.clone(),
            "/service",
            Some(r#"{"name": "x", "attributes": {"a": 1}}"#),
            S::UNPROCESSABLE_ENTITY,
            "attributes.a: invalid type: integer",
        ),
        case(
            "unknown field",
            put.clone(),
            "/service",
            Some(r#"{"name": "x", "colour": "red"}"#),
            S::UNPROCESSABLE_ENTITY,
            "unknown field `colour`",
        ),
        case(
            "body is a string",
            put.clone(),
            "/service",
            Some(r#""webapp""#),
            S::UNPROCESSABLE_ENTITY,
            "must be a JSON object",
        ),
        case(
            "body is an array",
            put.clone(),
            "/service",
            Some("[]"),
            S::UNPROCESSABLE_ENTITY,
            "must be a JSON object",
        ),
        case(
            "name not a DNS label",
            put.clone(),
            "/service",
            Some(r#"{"name": "web_app!"}"#),
            S::UNPROCESSABLE_ENTITY,
            "name: \"web_app!\" is not a DNS label",
        ),
        case(
            "name too long",
            put.clone(),
            "/service",
            Some(&format!(r#"{{"name": "{}"}}"#, "a".repeat(64))),
            S::UNPROCESSABLE_ENTITY,
            "at most 63",
        ),
        case(
            "port 0 at creation",
            put.clone(),
            "/service",
            Some(r#"{"name": "x", "named_ports": {"http": {"protocol": "tcp", "port": 0}}}"#),
            S::UNPROCESSABLE_ENTITY,
            "named_ports.http.port: 0 is out of range",
        ),
        case(
            "duplicate service",
            put.clone(),
            "/service",
            Some(r#"{"name": "webapp"}"#),
            S::CONFLICT,
            "service webapp already exists",
        ),
        case(
            "duplicate service in other case",
            put.clone(),
            "/service",
            Some(r#"{"name": "WEBAPP"}"#),
            S::CONFLICT,
            "already exists",
        ),
        case(
            "invalid IP",
            put.clone(),
            "/service/webapp/register",
            Some(r#"{"ip": "300.1.2.3", "tags": []}"#),
            S::UNPROCESSABLE_ENTITY,
            "ip: \"300.1.2.3\" is not an IPv4 or IPv6 address",
        ),
        case(
            "IP missing",
            put.clone(),
            "/service/webapp/register",
            Some(r#"{"tags": []}"#),
            S::UNPROCESSABLE_ENTITY,
            "missing field `ip`",
        ),
        case(
            "tags of the wrong type",
            put.clone(),
            "/service/webapp/register",
            Some(r#"{"ip": "10.0.0.9", "tags": "blue"}"#),
            S::UNPROCESSABLE_ENTITY,
            "tags: invalid type: string",
        ),
        case(
            "register on unknown service",
            put.clone(),
            "/service/nope/register",
            Some(r#"{"ip": "10.0.0.9", "tags": []}"#),
            S::NOT_FOUND,
            "service nope not found",
        ),
        case(
            "port 0",
            put.clone(),
            "/service/webapp/ports",
            Some(r#"{"web": {"protocol": "tcp", "port": 0}}"#),
            S::UNPROCESSABLE_ENTITY,
            "web.port: 0 is out of range (1..65535)",
        ),
        case(
            "port 70000",
            put.clone(),
            "/service/webapp/ports",
            Some(r#"{"web": {"protocol": "tcp", "port": 70000}}"#),
            S::UNPROCESSABLE_ENTITY,
            "web.port: 70000 is out of range (1..65535)",
        ),
        case(
            "negative port",
            put.clone(),
            "/service/webapp/port",
            Some(r#"{"web": {"protocol": "tcp", "port": -1}}"#),
            S::UNPROCESSABLE_ENTITY,
            "web.port: -1 is out of range",
        ),
        case(
            "port as a string",
            put.clone(),
            "/service/webapp/ports",
            Some(r#"{"web": {"protocol": "tcp", "port": "80"}}"#),
            S::UNPROCESSABLE_ENTITY,
            "web.port: invalid type: string",
        ),
        case(
            "unknown protocol",
            put.clone(),
            "/service/webapp/ports",
            Some(r#"{"web": {"protocol": "sctp", "port": 80}}"#),
            S::UNPROCESSABLE_ENTITY,
            "web.protocol: unknown variant `sctp`",
        ),
        case(
            "port name not a label",
            put.clone(),
            "/service/webapp/ports",
            Some(r#"{"we b": {"protocol": "tcp", "port": 80}}"#),
            S::UNPROCESSABLE_ENTITY,
            "we b: port name",
        ),
        case(
            "no ports at all",
            put.clone(),
            "/service/webapp/ports",
            Some("{}"),
            S::UNPROCESSABLE_ENTITY,
            "at least one named port",
        ),
        case(
            "ports on unknown service",
            put.clone(),
            "/service/nope/ports",
            Some(r#"{"web": {"protocol": "tcp", "port": 80}}"#),
            S::NOT_FOUND,
            "service nope not found",
        ),
        case(
            "unknown service",
            get.clone(),
            "/service/nope",
            None,
            S::NOT_FOUND,
            "service nope not found",
        ),
        case(
            "endpoints of unknown service",
            get.clone(),
            "/service/nope/endpoints",
            None,
            S::NOT_FOUND,
            "service nope not found",
        ),
        case(
            "invalid name in the path",
            get.clone(),
            "/service/bad_name",
            None,
            S::BAD_REQUEST,
            "service name in path",
        ),
        case(
            "bad pretty flag",
            get.clone(),
            "/services?pretty=maybe",
            None,
            S::BAD_REQUEST,
            "pretty: expected true or false",
        ),
        case(
            "unknown route",
            get.clone(),
            "/nothing/here",
            None,
            S::NOT_FOUND,
            "no route for GET /nothing/here",
        ),
        case(
            "debug route is off by default",
            get.clone(),
            "/debug/sleep?ms=1",
            None,
            S::NOT_FOUND,
            "no route",
        ),
        case(
            "wrong method",
            Method::POST,
            "/service",
            Some(r#"{"name": "x"}"#),
            S::METHOD_NOT_ALLOWED,
            "method POST is not allowed on /service",
        ),
    ]
}

/// One row of the snapshot that documents every error answer.
#[derive(Serialize)]
struct Row {
    case: &'static str,
    request: String,
    status: u16,
    body: serde_json::Value,
}

#[tokio::test]
async fn each_bad_input_gets_a_json_error_naming_the_problem() {
    let api = Api::start().await;
    api.seed_webapp().await;
    let before = api.get("/services").await.text;
    let endpoints_before = api.get("/service/webapp/endpoints").await.text;

    let mut rows = Vec::new();
    for case in cases() {
        let answer = api
            .send(case.method.clone(), case.path, case.body.clone())
            .await;
        assert_eq!(answer.status, case.status, "{}: {}", case.name, answer.text);
        assert_eq!(
            answer.content_type.as_deref(),
            Some("application/json"),
            "{}",
            case.name
        );
        let message = answer.error();
        assert!(
            message.contains(case.mentions),
            "{}: {message:?} should mention {:?}",
            case.name,
            case.mentions
        );
        rows.push(Row {
            case: case.name,
            request: format!("{} {}", case.method, case.path),
            status: answer.status.as_u16(),
            body: answer.json(),
        });
    }
    insta::assert_json_snapshot!("bad_input_error_answers", rows);

    assert_eq!(
        api.get("/services").await.text,
        before,
        "nothing was stored"
    );
    assert_eq!(
        api.get("/service/webapp/endpoints").await.text,
        endpoints_before
    );
    assert_eq!(
        api.get("/ready").await.status,
        StatusCode::OK,
        "still serving"
    );
}

#[tokio::test]
async fn a_one_mebibyte_body_is_refused_with_413() {
    let api = Api::start().await;
    let padding = "x".repeat(1024 * 1024);
    let body = json!({"name": "big", "attributes": {"padding": padding}}).to_string();
    let answer = api.put("/service", &body).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        answer.error(),
        "request body is larger than the limit of 65536 bytes"
    );
    assert_eq!(api.get("/service/big").await.status, StatusCode::NOT_FOUND);
    assert_eq!(api.get("/healthz").await.status, StatusCode::OK);
}

#[tokio::test]
async fn an_over_limit_chunked_body_is_refused_too() {
    // Chunked transfer declares no length: the limit must hold while reading.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let api = Api::start().await;
    let addr = api.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = "PUT /service HTTP/1.1\r\nhost: test\r\ntransfer-encoding: chunked\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = format!("1000\r\n{}\r\n", " ".repeat(0x1000));
    for _ in 0..32 {
        if stream.write_all(chunk.as_bytes()).await.is_err() {
            break; // the server may answer and close before the end
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413 "), "{answer}");
    assert!(answer.contains(r#"{"error":"request body is larger than the limit of 65536 bytes"}"#));
}

#[tokio::test]
async fn non_json_content_type_is_refused_with_415() {
    let api = Api::start().await;
    let response = api
        .client
        .put(format!("{}/service", api.base))
        .header("content-type", "text/xml")
        .body("<service name='x'/>")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"error": "content type \"text/xml\" is not supported; send application/json"})
    );
}
