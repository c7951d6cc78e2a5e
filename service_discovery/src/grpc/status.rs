//! Storage failures as gRPC status codes, mirroring the HTTP front end's
//! 404 / 409 / 503.

use tonic::Status;

use crate::storage::StorageError;

pub(super) fn from_storage(error: StorageError) -> Status {
    let message = error.to_string();
    match error {
        StorageError::NotFound(_) => Status::not_found(message),
        StorageError::AlreadyExists(_) => Status::already_exists(message),
        StorageError::Unavailable(_) => Status::unavailable(message),
    }
}
