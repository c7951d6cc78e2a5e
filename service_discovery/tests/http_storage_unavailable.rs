//! A store that cannot be reached: every route answers 503 with a message
//! saying so, `/ready` fails, and `/healthz` still says the process is alive.

mod service_support;

use std::sync::Arc;

use reqwest::StatusCode;
use service_discovery::model::{Endpoint, NamedPorts, Service, ServiceId, ServiceName};
use service_discovery::storage::{Storage, StorageError, StorageResult};
use service_support::api::Api;

struct Unreachable;

fn down<T>() -> StorageResult<T> {
    Err(StorageError::Unavailable("connection refused".into()))
}

#[async_trait::async_trait]
impl Storage for Unreachable {
    fn backend(&self) -> &'static str {
        "unreachable"
    }
    async fn ping(&self) -> StorageResult<()> {
        down()
    }
    async fn create_service(&self, _: Service) -> StorageResult<ServiceId> {
        down()
    }
    async fn get_service(&self, _: &ServiceName) -> StorageResult<Service> {
        down()
    }
    async fn list_services(&self) -> StorageResult<Vec<Service>> {
        down()
    }
    async fn add_named_ports(&self, _: &ServiceName, _: NamedPorts) -> StorageResult<()> {
        down()
    }
    async fn register_endpoint(&self, _: Endpoint) -> StorageResult<()> {
        down()
    }
    async fn lookup_endpoints(&self, _: &ServiceName) -> StorageResult<Vec<Endpoint>> {
        down()
    }
}

#[tokio::test]
async fn every_route_answers_503_naming_the_store() {
    let api = Api::start_with(Arc::new(Unreachable)).await;
    let answers = [
        api.put("/service", r#"{"name": "webapp"}"#).await,
        api.get("/services").await,
        api.get("/service/webapp").await,
        api.get("/service/webapp/endpoints").await,
        api.put("/service/webapp/register", r#"{"ip": "127.0.0.1"}"#)
            .await,
        api.put(
            "/service/webapp/ports",
            r#"{"http": {"protocol": "tcp", "port": 80}}"#,
        )
        .await,
    ];
    for answer in answers {
        assert_eq!(
            answer.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            answer.text
        );
        assert_eq!(answer.error(), "storage unavailable: connection refused");
    }
}

#[tokio::test]
async fn ready_fails_while_healthz_stays_alive() {
    let api = Api::start_with(Arc::new(Unreachable)).await;
    let ready = api.get("/ready").await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        ready.error(),
        "not ready: storage unavailable: connection refused"
    );
    assert_eq!(api.get("/healthz").await.status, StatusCode::OK);
}

#[tokio::test]
async fn bad_input_is_still_reported_before_the_store_is_tried() {
    let api = Api::start_with(Arc::new(Unreachable)).await;
    let answer = api.put("/service", r#"{"name": 1}"#).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
}
