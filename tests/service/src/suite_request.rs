//! How the suite hands an image to testcontainers: labelled as the suite's
//! (so a killed run's leftovers are found), with a startup bound, and its
//! ports published on 127.0.0.1 only (testcontainers would publish them on
//! every interface).

use std::time::Duration;

use bollard::models::PortBinding;
use testcontainers::core::ContainerPort;
use testcontainers::{ContainerRequest, Image, ImageExt};

use integration_suite::containers::run::SUITE_LABEL;

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

/// A port as the container contract and `EXPOSE` write it (`8053/udp`).
pub fn container_port(port: &str) -> anyhow::Result<ContainerPort> {
    let (number, protocol) = port.split_once('/').unwrap_or((port, "tcp"));
    let number: u16 = number
        .parse()
        .map_err(|_| anyhow::anyhow!("{port:?} is not PORT/PROTOCOL"))?;
    match protocol {
        "tcp" => Ok(ContainerPort::Tcp(number)),
        "udp" => Ok(ContainerPort::Udp(number)),
        "sctp" => Ok(ContainerPort::Sctp(number)),
        _ => anyhow::bail!("{port:?} names no protocol EXPOSE takes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ports_as_expose_writes_them() {
        assert_eq!(
            container_port("3000/tcp").unwrap(),
            ContainerPort::Tcp(3000)
        );
        assert_eq!(
            container_port("8053/udp").unwrap(),
            ContainerPort::Udp(8053)
        );
        assert_eq!(container_port("80").unwrap(), ContainerPort::Tcp(80));
        assert!(container_port("x/tcp").is_err());
        assert!(container_port("53/icmp").is_err());
        // The way back: testcontainers names ports as the engine does.
        assert_eq!(ContainerPort::Udp(8053).to_string(), "8053/udp");
    }
}
