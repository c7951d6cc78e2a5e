//! The HTTP router served in-process on 127.0.0.1:0, over a store the test
//! chooses, with a reqwest client pointed at it.

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use service_discovery::http::{self, HttpState, RouterOptions};
use service_discovery::lifecycle::{InFlight, Readiness};
use service_discovery::storage::{MemoryStorage, SharedStorage};

pub struct Api {
    pub base: String,
    pub client: reqwest::Client,
    pub readiness: Readiness,
    pub storage: SharedStorage,
}

/// An answer with its body kept as text, so tests can check both the
/// exact bytes (pretty printing) and the JSON inside.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub content_type: Option<String>,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.text))
    }

    /// The message of a `{"error": "..."}` body.
    pub fn error(&self) -> String {
        let body = self.json();
        let keys: Vec<&String> = body
            .as_object()
            .expect("error body is an object")
            .keys()
            .collect();
        assert_eq!(keys, ["error"], "error bodies hold exactly one key");
        body["error"]
            .as_str()
            .expect("error is a string")
            .to_owned()
    }
}

impl Api {
    pub async fn start() -> Self {
        Self::start_with(Arc::new(MemoryStorage::new())).await
    }

    pub async fn start_with(storage: SharedStorage) -> Self {
        let readiness = Readiness::new(storage.clone());
        let router = http::router(
            HttpState {
                storage: storage.clone(),
                readiness: readiness.clone(),
            },
            &InFlight::new(),
            RouterOptions {
                debug_routes: false,
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(http::serve(listener, router, std::future::pending()));
        Self {
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            readiness,
            storage,
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, None).await
    }

    /// PUT with a JSON body, labelled as `curl -d` labels it, like the
    /// original README's commands.
    pub async fn put(&self, path: &str, body: &str) -> Answer {
        self.send(Method::PUT, path, Some(body.to_owned())).await
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<String>) -> Answer {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body);
        }
        let response = request.send().await.expect("request reaches the server");
        Answer {
            status: response.status(),
            content_type: response
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned()),
            text: response.text().await.unwrap(),
        }
    }

    /// The README's example: `webapp`, one attribute, endpoint 127.0.0.1,
    /// named port `http` on tcp 8000.
    pub async fn seed_webapp(&self) {
        let created = self
            .put(
                "/service",
                r#"{"name": "webapp", "attributes": {"attr-1": "value-1"}}"#,
            )
            .await;
        assert_eq!(created.status, StatusCode::OK, "{}", created.text);
        let registered = self
            .put(
                "/service/webapp/register",
                r#"{"ip": "127.0.0.1", "tags": []}"#,
            )
            .await;
        assert_eq!(registered.status, StatusCode::OK, "{}", registered.text);
        let ports = self
            .put(
                "/service/webapp/port",
                r#"{"http": {"protocol": "tcp", "port": 8000}}"#,
            )
            .await;
        assert_eq!(ports.status, StatusCode::OK, "{}", ports.text);
    }
}
