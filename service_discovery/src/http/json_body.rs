//! The request body extractor: JSON with errors that name the field at
//! fault, a size limit, and the content types the original `curl`
//! examples send.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

use super::BODY_LIMIT;
use super::error::ApiError;

pub struct JsonBody<T>(pub T);

impl<T, S> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        check_content_type(req.headers())?;
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("request body is larger than the limit of {BODY_LIMIT} bytes"),
                )
            } else {
                ApiError::bad_request(format!(
                    "could not read the request body: {}",
                    rejection.body_text()
                ))
            }
        })?;
        parse(&bytes).map(JsonBody)
    }
}

/// `curl -d` labels its body `application/x-www-form-urlencoded` unless
/// told otherwise; the original README's commands rely on that body being
/// read as JSON, so that label is accepted alongside JSON ones.
fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let essence = value
        .to_str()
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let is_json = essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"));
    if is_json || essence == "application/x-www-form-urlencoded" {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("content type {essence:?} is not supported; send application/json"),
        ))
    }
}

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let starts_as_object = bytes.trim_ascii_start().first() == Some(&b'{');
        if path == "." && inner.is_data() && !starts_as_object {
            // Every body of this API is an object; serde's own message for
            // an array ("invalid length 0, expected struct ...") says less.
            return ApiError::unprocessable("request body must be a JSON object");
        }
        describe(&path, &inner)
    })?;
    de.end().map_err(|err| describe(".", &err))?;
    Ok(value)
}

fn describe(path: &str, err: &serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    match err.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            if bytes_were_empty(err) {
                ApiError::bad_request("request body is empty; send a JSON object")
            } else {
                ApiError::bad_request(format!("malformed JSON: {err}"))
            }
        }
        Category::Data => {
            // Positions help with syntax errors; for data errors the field
            // path says more, so the position is dropped.
            let message = without_position(err);
            if path == "." {
                ApiError::unprocessable(message)
            } else {
                ApiError::unprocessable(format!("{path}: {message}"))
            }
        }
    }
}

fn bytes_were_empty(err: &serde_json::Error) -> bool {
    err.is_eof() && err.line() == 1 && err.column() == 0
}

fn without_position(err: &serde_json::Error) -> String {
    let text = err.to_string();
    let suffix = format!(" at line {} column {}", err.line(), err.column());
    text.strip_suffix(&suffix).unwrap_or(&text).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        name: String,
        inner: Option<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        port: u16,
    }

    #[test]
    fn data_errors_name_the_field_path() {
        let err = parse::<Sample>(br#"{"name":"a","inner":{"port":"x"}}"#).unwrap_err();
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            err.message,
            r#"inner.port: invalid type: string "x", expected u16"#
        );
    }

    #[test]
    fn syntax_errors_are_bad_requests_with_a_position() {
        let err = parse::<Sample>(br#"{"name": }"#).unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert!(
            err.message.starts_with("malformed JSON: "),
            "{}",
            err.message
        );
        assert!(err.message.contains("line 1 column"), "{}", err.message);
    }

    #[test]
    fn trailing_data_is_refused() {
        let err = parse::<Sample>(br#"{"name":"a"} {}"#).unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn empty_body_says_so() {
        let err = parse::<Sample>(b"").unwrap_err();
        assert_eq!(err.message, "request body is empty; send a JSON object");
    }

    #[test]
    fn content_types() {
        let with = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(value));
            check_content_type(&headers)
        };
        assert!(check_content_type(&HeaderMap::new()).is_ok());
        assert!(with("application/json; charset=utf-8").is_ok());
        assert!(with("application/merge-patch+json").is_ok());
        assert!(with("application/x-www-form-urlencoded").is_ok());
        assert_eq!(
            with("text/xml").unwrap_err().status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
    }
}
