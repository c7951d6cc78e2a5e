//! Turns one decoded request into one response. Decoding, encoding,
//! truncation and the UDP/TCP transports are hickory's; this file decides
//! what to answer.

use std::sync::Arc;

use hickory_server::net::runtime::Time;
use hickory_server::proto::op::{Edns, Header, HeaderCounts, Metadata, OpCode, ResponseCode};
use hickory_server::proto::rr::{DNSClass, Name, Record};
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponseBuilder;

use super::answer::{self, Outcome};
use super::zone::Zone;
use crate::storage::SharedStorage;

/// The only EDNS version there is (RFC 6891); higher ones get BADVERS.
const EDNS_VERSION: u8 = 0;
/// Largest UDP reply, whatever a client offers to receive: the size DNS
/// Flag Day 2020 settled on to avoid IP fragmentation. Larger answers are
/// truncated (TC) and the client retries over TCP.
const EDNS_MAX_PAYLOAD: u16 = 1232;
/// What every DNS client can receive over UDP (RFC 1035).
const MIN_PAYLOAD: u16 = 512;

pub struct Handler {
    storage: SharedStorage,
    zone: Arc<Zone>,
}

impl Handler {
    pub fn new(storage: SharedStorage, zone: Zone) -> Self {
        Self {
            storage,
            zone: Arc::new(zone),
        }
    }

    /// The answer to a request, or the error code that replaces it.
    async fn outcome(&self, request: &Request) -> Result<Outcome, ResponseCode> {
        if request
            .edns
            .as_ref()
            .is_some_and(|e| e.version() > EDNS_VERSION)
        {
            return Err(ResponseCode::BADVERS);
        }
        if request.metadata.op_code != OpCode::Query {
            return Err(ResponseCode::NotImp);
        }
        // Exactly one question: what every DNS implementation sends.
        let query = request
            .request_info()
            .map_err(|_| ResponseCode::FormErr)?
            .query;
        if query.query_class() != DNSClass::IN {
            return Ok(Outcome::Refused);
        }
        let name = Name::from(query.name().clone());
        Ok(answer::resolve(
            self.storage.as_ref(),
            &self.zone,
            query.original().name(),
            &name,
            query.query_type(),
        )
        .await)
    }
}

#[async_trait::async_trait]
impl RequestHandler for Handler {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        mut response_handle: R,
    ) -> ResponseInfo {
        // hickory sizes UDP replies by the OPT record of the response.
        let response_edns = request.edns.as_ref().map(|asked| {
            let mut edns = Edns::new();
            edns.set_max_payload(asked.max_payload().clamp(MIN_PAYLOAD, EDNS_MAX_PAYLOAD))
                .set_version(EDNS_VERSION);
            edns
        });
        let mut builder = MessageResponseBuilder::from_message_request(request);
        if let Some(edns) = &response_edns {
            builder.edns(edns);
        }
        let mut metadata = Metadata::response_from_request(&request.metadata);

        let (answers, negative) = match self.outcome(request).await {
            Err(code) => {
                metadata.response_code = code;
                (Vec::new(), false)
            }
            Ok(Outcome::Answer(records)) => {
                metadata.authoritative = true;
                let no_data = records.is_empty();
                (records, no_data)
            }
            Ok(Outcome::NxDomain) => {
                metadata.authoritative = true;
                metadata.response_code = ResponseCode::NXDomain;
                (Vec::new(), true)
            }
            Ok(Outcome::Refused) => {
                metadata.response_code = ResponseCode::Refused;
                (Vec::new(), false)
            }
            Ok(Outcome::ServFail) => {
                metadata.response_code = ResponseCode::ServFail;
                (Vec::new(), false)
            }
        };
        // Negative answers carry the zone's SOA: its MINIMUM tells resolvers
        // how long they may cache the absence (RFC 2308).
        let soa = negative.then(|| self.zone.soa());
        let none = std::iter::empty::<&Record>;
        let response = builder.build(metadata, &answers, none(), soa, none());
        match response_handle.send_response(response).await {
            Ok(info) => info,
            Err(error) => {
                tracing::warn!(%error, src = %request.src(), "failed to send a DNS response");
                let mut metadata = Metadata::response_from_request(&request.metadata);
                metadata.response_code = ResponseCode::ServFail;
                ResponseInfo::from(Header {
                    metadata,
                    counts: HeaderCounts::default(),
                })
            }
        }
    }
}
