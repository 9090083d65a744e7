//! The show announced on the local network with multicast DNS, as OSCQuery asks:
//! `_oscjson._tcp` for the web server (its namespace) and `_osc._udp` for the OSC server, so
//! VDMX, Chataigne or TouchDesigner list "Somnia" without anyone typing an address.
//!
//! Only when the server listens beyond loopback: a show bound to 127.0.0.1 (the default) is
//! not on the network and says nothing there. The responder is mdns-sd's own thread; nothing
//! here touches the sound or the picture, and a network without multicast costs a warning.

use std::net::SocketAddr;

use mdns_sd::{ServiceDaemon, ServiceInfo};

/// OSCQuery's service type for the namespace's HTTP server.
pub const OSCJSON: &str = "_oscjson._tcp.local.";
/// The service type for an OSC server over UDP.
pub const OSC_UDP: &str = "_osc._udp.local.";

/// Why the show could not be announced. It plays on, reachable at its address.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MdnsError {
    #[error("cannot announce the show with mDNS: {0}")]
    Daemon(#[from] mdns_sd::Error),
}

/// The announcement; dropping it says goodbye on the network and stops the responder.
pub struct Advert {
    daemon: ServiceDaemon,
    names: Vec<String>,
}

/// A name this machine is known by, for the service's host record.
fn host_name() -> String {
    format!("{}.local.", host_label())
}

/// This machine's name as one DNS label ("somnia" when it has none we can use).
pub fn host_label() -> String {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_default();
    let clean: String = raw
        .trim()
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' => c,
            _ => '-',
        })
        .take(63)
        .collect();
    match clean.trim_matches('-') {
        "" => "somnia".into(),
        name => name.into(),
    }
}

/// Whether `addr` is reachable from other machines (not loopback).
pub fn beyond_loopback(addr: SocketAddr) -> bool {
    !addr.ip().is_loopback()
}

/// The addresses to announce for a server bound to `addr`: its own, or every interface's when
/// it listens on all of them (the empty list, which mdns-sd fills per interface).
fn addresses(addr: SocketAddr) -> String {
    match addr.ip().is_unspecified() {
        true => String::new(),
        false => addr.ip().to_string(),
    }
}

impl Advert {
    /// Announces `instance` (the show's name on the network) at the web server `web` and, when
    /// it listens beyond loopback, the OSC server `osc`.
    pub fn start(
        instance: &str,
        web: SocketAddr,
        osc: Option<SocketAddr>,
    ) -> Result<Self, MdnsError> {
        let daemon = ServiceDaemon::new()?;
        let host = host_name();
        let mut names = Vec::new();
        let services = std::iter::once((OSCJSON, web))
            .chain(osc.filter(|a| beyond_loopback(*a)).map(|a| (OSC_UDP, a)));
        for (ty, addr) in services {
            let mut info = ServiceInfo::new(
                ty,
                instance,
                &host,
                addresses(addr).as_str(),
                addr.port(),
                None::<std::collections::HashMap<String, String>>,
            )?;
            if addr.ip().is_unspecified() {
                info = info.enable_addr_auto();
            }
            names.push(info.get_fullname().to_string());
            daemon.register(info)?;
        }
        Ok(Self { daemon, names })
    }
}

impl Drop for Advert {
    fn drop(&mut self) {
        for name in &self.names {
            if let Ok(done) = self.daemon.unregister(name) {
                // The goodbye packets go out before the responder stops; not waited on forever.
                let _ = done.recv_timeout(std::time::Duration::from_millis(500));
            }
        }
        let _ = self.daemon.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_name_is_a_dns_label_under_local() {
        let h = host_name();
        assert!(h.ends_with(".local."), "{h}");
        let label = h.trim_end_matches(".local.");
        assert!(!label.is_empty() && label.len() <= 63, "{h}");
        assert!(
            label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "{h}"
        );
    }

    #[test]
    fn only_addresses_beyond_loopback_are_announced() {
        assert!(!beyond_loopback("127.0.0.1:9080".parse().unwrap()));
        assert!(!beyond_loopback("[::1]:9080".parse().unwrap()));
        assert!(beyond_loopback("0.0.0.0:9080".parse().unwrap()));
        assert!(beyond_loopback("192.168.1.20:9080".parse().unwrap()));
        assert_eq!(addresses("0.0.0.0:1".parse().unwrap()), "");
        assert_eq!(addresses("10.0.0.2:1".parse().unwrap()), "10.0.0.2");
    }
}
