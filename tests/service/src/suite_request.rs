//! How the suite hands an image to testcontainers: labelled as the suite's
//! (so a killed run's leftovers are found), with a startup bound, and its
//! ports published on 127.0.0.1 only (testcontainers would publish them on
//! every interface).

use std::time::Duration;

use bollard::models::PortBinding;
use testcontainers::core::ContainerPort;
use testcontainers::{ContainerRequest, Image, ImageExt};

use integration_suite::containers::run::SUITE_LABEL;
use integration_suite::contract::table::{Port, Protocol};

pub fn suite_request<I: Image>(
    image: I,
    ports: &[ContainerPort],
    startup_timeout: Duration,
) -> ContainerRequest<I> {
    let ports: Vec<String> = ports.iter().map(ToString::to_string).collect();
    image
        .with_label(SUITE_LABEL, "true")
        .with_startup_timeout(startup_timeout)
        .with_host_config_modifier(move |host_config| {
            host_config.publish_all_ports = Some(false);
            host_config.port_bindings = Some(
                ports
                    .iter()
                    .map(|port| {
                        let binding = PortBinding {
                            host_ip: Some("127.0.0.1".to_owned()),
                            host_port: None,
                        };
                        (port.clone(), Some(vec![binding]))
                    })
                    .collect(),
            );
        })
}

/// A port of the container contract, as testcontainers names it.
pub fn container_port(port: Port) -> ContainerPort {
    match port.protocol {
        Protocol::Tcp => ContainerPort::Tcp(port.number),
        Protocol::Udp => ContainerPort::Udp(port.number),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_contract_ports_as_the_engine_does() {
        for text in ["3000/tcp", "8053/udp"] {
            let port: Port = text.parse().unwrap();
            assert_eq!(container_port(port).to_string(), text);
        }
    }
}
