//! Answers one raw DNS message in-process, through the handler the server
//! uses, without sockets: the entry point of the fuzz target, and a way to
//! look at exact reply bytes.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};

use hickory_server::net::NetError;
use hickory_server::net::runtime::TokioTime;
use hickory_server::net::xfer::Protocol;
use hickory_server::proto::op::MessageType;
use hickory_server::proto::rr::Record;
use hickory_server::proto::serialize::binary::BinEncoder;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponse;

use super::handler::Handler;
use super::zone::Zone;
use crate::storage::SharedStorage;

pub struct Responder {
    handler: Handler,
}

impl Responder {
    pub fn new(storage: SharedStorage, zone: Zone) -> Self {
        Self {
            handler: Handler::new(storage, zone),
        }
    }

    /// The encoded reply to `packet`, or `None` where the server sends
    /// nothing of its own: undecodable messages (hickory's transport layer
    /// answers those with FORMERR before any handler runs) and responses.
    pub async fn respond(&self, packet: &[u8]) -> Option<Vec<u8>> {
        // The handler answers alike whatever the source and transport.
        let source = SocketAddr::from((Ipv4Addr::LOCALHOST, 5353));
        let request = Request::from_bytes(packet.to_vec(), source, Protocol::Tcp).ok()?;
        if request.metadata.message_type == MessageType::Response {
            return None;
        }
        let capture = Capture::default();
        self.handler
            .handle_request::<_, TokioTime>(&request, capture.clone())
            .await;
        capture
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

/// Keeps the encoded response instead of sending it.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Option<Vec<u8>>>>);

#[async_trait::async_trait]
impl ResponseHandler for Capture {
    async fn send_response<'a>(
        &mut self,
        response: MessageResponse<
            '_,
            'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
        >,
    ) -> Result<ResponseInfo, NetError> {
        let mut bytes = Vec::new();
        let info = response.destructive_emit(&mut BinEncoder::new(&mut bytes))?;
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(bytes);
        Ok(info)
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use hickory_server::proto::op::{Message, OpCode, Query, ResponseCode};
    use hickory_server::proto::rr::{Name, RecordType};

    use super::*;
    use crate::storage::MemoryStorage;

    fn responder() -> Responder {
        let zone = Zone::parse("svc.cluster.local").unwrap();
        Responder::new(Arc::new(MemoryStorage::new()), zone)
    }

    #[tokio::test]
    async fn a_query_gets_a_reply_with_its_id() {
        let mut query = Message::new(77, MessageType::Query, OpCode::Query);
        query.add_query(Query::query(
            Name::from_str("webapp.svc.cluster.local.").unwrap(),
            RecordType::A,
        ));
        let reply = responder().respond(&query.to_vec().unwrap()).await.unwrap();
        let reply = Message::from_vec(&reply).unwrap();
        assert_eq!(reply.id, 77);
        assert_eq!(reply.response_code, ResponseCode::NXDomain);
    }

    #[tokio::test]
    async fn undecodable_messages_and_responses_get_nothing() {
        let responder = responder();
        assert_eq!(responder.respond(&[0; 5]).await, None);
        let response = Message::new(78, MessageType::Response, OpCode::Query);
        assert_eq!(responder.respond(&response.to_vec().unwrap()).await, None);
    }
}
