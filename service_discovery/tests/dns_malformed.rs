//! Hostile and broken packets on raw sockets: each gets FORMERR (or another
//! error code) or no reply at all, and the server keeps answering.

mod dns_support;
mod front_end_support;

use std::str::FromStr;
use std::time::Duration;

use dns_support::{DnsServer, TRANSPORTS};
use front_end_support::seeded_storage;
use hickory_server::proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_server::proto::rr::{Name, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// How long to wait for a reply that should not come.
const SILENCE: Duration = Duration::from_millis(300);
const REPLY: Duration = Duration::from_secs(2);

fn query_message(id: u16, name: &str) -> Message {
    let mut message = Message::new(id, MessageType::Query, OpCode::Query);
    message.add_query(Query::query(Name::from_str(name).unwrap(), RecordType::A));
    message
}

fn query_bytes(id: u16) -> Vec<u8> {
    query_message(id, "webapp.svc.cluster.local.")
        .to_vec()
        .unwrap()
}

async fn udp_socket(server: &DnsServer) -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.connect(server.addr).await.unwrap();
    socket
}

async fn receive(socket: &UdpSocket, wait: Duration) -> Option<Message> {
    let mut buffer = vec![0; 65_535];
    let len = tokio::time::timeout(wait, socket.recv(&mut buffer))
        .await
        .ok()?
        .unwrap();
    Some(Message::from_vec(&buffer[..len]).expect("the server's replies are well-formed"))
}

async fn exchange(socket: &UdpSocket, packet: &[u8], wait: Duration) -> Option<Message> {
    socket.send(packet).await.unwrap();
    receive(socket, wait).await
}

/// The server still answers a good query, on UDP and on TCP.
async fn assert_still_answering(server: &DnsServer) {
    let socket = udp_socket(server).await;
    let reply = exchange(&socket, &query_bytes(4242), REPLY)
        .await
        .expect("UDP answer");
    assert_eq!(reply.id, 4242);
    assert_eq!(reply.answers.len(), 1);
    for transport in TRANSPORTS {
        let reply = server
            .query(transport, "webapp.svc.cluster.local.", RecordType::A)
            .await;
        assert_eq!(reply.answers.len(), 1, "{transport:?}");
    }
}

#[tokio::test]
async fn packets_shorter_than_a_header_get_no_reply() {
    let server = DnsServer::start(seeded_storage().await).await;
    let socket = udp_socket(&server).await;
    let full = query_bytes(7);
    for len in 0..12 {
        socket.send(&full[..len]).await.unwrap();
    }
    assert!(receive(&socket, SILENCE).await.is_none());
    assert_still_answering(&server).await;
}

#[tokio::test]
async fn every_truncation_of_a_query_gets_formerr_or_nothing() {
    let server = DnsServer::start(seeded_storage().await).await;
    let socket = udp_socket(&server).await;
    let full = query_bytes(7);
    for len in 12..full.len() {
        if let Some(reply) = exchange(&socket, &full[..len], SILENCE).await {
            assert_eq!(reply.id, 7, "cut at {len}");
            assert_eq!(reply.message_type, MessageType::Response);
            assert_eq!(reply.response_code, ResponseCode::FormErr, "cut at {len}");
            assert!(reply.answers.is_empty());
        }
    }
    // A question cut in its middle is answered, so the loop asserted something.
    let reply = exchange(&socket, &full[..full.len() - 3], REPLY)
        .await
        .expect("a reply");
    assert_eq!(reply.response_code, ResponseCode::FormErr);
    assert_still_answering(&server).await;
}

#[tokio::test]
async fn a_message_with_two_questions_gets_formerr() {
    let server = DnsServer::start(seeded_storage().await).await;
    let socket = udp_socket(&server).await;
    let mut message = query_message(9, "webapp.svc.cluster.local.");
    message.add_query(Query::query(
        Name::from_str("webapp.svc.cluster.local.").unwrap(),
        RecordType::AAAA,
    ));
    let reply = exchange(&socket, &message.to_vec().unwrap(), REPLY)
        .await
        .unwrap();
    assert_eq!(reply.response_code, ResponseCode::FormErr);
    assert!(reply.answers.is_empty());
}

#[tokio::test]
async fn operations_other_than_query_get_notimp() {
    let server = DnsServer::start(seeded_storage().await).await;
    let socket = udp_socket(&server).await;
    for op_code in [OpCode::Status, OpCode::Notify] {
        let mut message = query_message(11, "webapp.svc.cluster.local.");
        message.metadata.op_code = op_code;
        let reply = exchange(&socket, &message.to_vec().unwrap(), REPLY)
            .await
            .unwrap();
        assert_eq!(reply.response_code, ResponseCode::NotImp, "{op_code:?}");
    }
}

#[tokio::test]
async fn an_unknown_edns_version_gets_badvers() {
    let server = DnsServer::start(seeded_storage().await).await;
    let socket = udp_socket(&server).await;
    let mut message = query_message(13, "webapp.svc.cluster.local.");
    let mut edns = Edns::new();
    edns.set_version(1);
    message.set_edns(edns);
    let reply = exchange(&socket, &message.to_vec().unwrap(), REPLY)
        .await
        .unwrap();
    // Extended code 16 is BADVERS in a message with EDNS and BADSIG in one
    // with TSIG; hickory decodes the number as the latter, so compare numbers.
    assert_eq!(
        u16::from(reply.response_code),
        u16::from(ResponseCode::BADVERS)
    );
    assert!(
        reply.edns.is_some(),
        "BADVERS needs the OPT record to carry it"
    );
    assert!(reply.answers.is_empty());
}

#[tokio::test]
async fn responses_sent_to_the_server_are_dropped() {
    let server = DnsServer::start(seeded_storage().await).await;
    let socket = udp_socket(&server).await;
    let mut message = query_message(15, "webapp.svc.cluster.local.");
    message.metadata.message_type = MessageType::Response;
    // Answering would make the server a reflector between two spoofed peers.
    assert!(
        exchange(&socket, &message.to_vec().unwrap(), SILENCE)
            .await
            .is_none()
    );
    assert_still_answering(&server).await;
}

/// Deterministic pseudo-random bytes (xorshift), so a failure can be replayed.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn packet(&mut self, valid_prefix: &[u8]) -> Vec<u8> {
        let len = (self.next() % 600) as usize;
        let mut packet: Vec<u8> = (0..len).map(|_| self.next() as u8).collect();
        // Half the packets keep a plausible header, to get past the first
        // check and exercise the question and record parsers.
        if self.next().is_multiple_of(2) {
            let keep = packet.len().min(valid_prefix.len());
            packet[..keep].copy_from_slice(&valid_prefix[..keep]);
            if let Some(byte) = packet.get_mut(keep / 2 + 12) {
                *byte = self.next() as u8;
            }
        }
        packet
    }
}

#[tokio::test]
async fn random_garbage_never_stops_the_server() {
    let server = DnsServer::start(seeded_storage().await).await;
    let socket = udp_socket(&server).await;
    let valid = query_bytes(17);
    let mut noise = Noise(0x5eed_d15c_07e5_7000);
    let mut replies = 0;
    for _ in 0..2_000 {
        socket.send(&noise.packet(&valid)).await.unwrap();
        // Drain whatever has arrived, without waiting.
        while let Some(reply) = receive(&socket, Duration::ZERO).await {
            assert_eq!(reply.message_type, MessageType::Response);
            replies += 1;
        }
    }
    while let Some(reply) = receive(&socket, SILENCE).await {
        assert_eq!(reply.message_type, MessageType::Response);
        replies += 1;
    }
    assert!(replies > 0, "not one of the plausible packets was answered");
    assert_still_answering(&server).await;
}

#[tokio::test]
async fn broken_tcp_frames_do_not_stop_the_server() {
    let server = DnsServer::start(seeded_storage().await).await;

    // A frame announcing 512 bytes that never come, then a hang-up.
    let mut short = TcpStream::connect(server.addr).await.unwrap();
    short
        .write_all(&[0x02, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
        .await
        .unwrap();
    drop(short);

    // A complete frame holding a truncated question: FORMERR on the stream.
    let full = query_bytes(19);
    let cut = &full[..full.len() - 3];
    let mut framed = Vec::from(u16::try_from(cut.len()).unwrap().to_be_bytes());
    framed.extend_from_slice(cut);
    let mut broken = TcpStream::connect(server.addr).await.unwrap();
    broken.write_all(&framed).await.unwrap();
    let mut len = [0; 2];
    tokio::time::timeout(REPLY, broken.read_exact(&mut len))
        .await
        .unwrap()
        .unwrap();
    let mut reply = vec![0; usize::from(u16::from_be_bytes(len))];
    broken.read_exact(&mut reply).await.unwrap();
    let reply = Message::from_vec(&reply).unwrap();
    assert_eq!(reply.id, 19);
    assert_eq!(reply.response_code, ResponseCode::FormErr);

    assert_still_answering(&server).await;
}
