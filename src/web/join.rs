//! The audience page's address as phones reach it, for the join code on the picture and the
//! log. A server bound to one address gives that address; one bound to every interface gives
//! this machine's address on the local network (a private one first), since "0.0.0.0" is no
//! place a phone can go. A venue with a name for the machine, or a portal in front of it,
//! says so with `--join-url`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

pub use crate::show::access::{JoinUrlError, MAX_URL_CHARS, checked_url};

/// The page's address for a server listening on `bound`, with this machine's interface
/// addresses `interfaces` to choose from when it listens on all of them.
pub fn join_url(bound: SocketAddr, interfaces: &[IpAddr]) -> String {
    let ip = if bound.ip().is_unspecified() {
        best_address(interfaces).unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
    } else {
        bound.ip()
    };
    format!("http://{}/join", SocketAddr::new(ip, bound.port()))
}

/// A phone on the venue's network reaches a private IPv4 address best, then any other IPv4,
/// then IPv6 (not link-local, which needs a zone no QR code can carry).
fn best_address(interfaces: &[IpAddr]) -> Option<IpAddr> {
    let v4 = |private: bool| {
        interfaces.iter().copied().find(|ip| match ip {
            IpAddr::V4(v4) => {
                !v4.is_loopback() && !v4.is_link_local() && v4.is_private() == private
            }
            IpAddr::V6(_) => false,
        })
    };
    v4(true).or_else(|| v4(false)).or_else(|| {
        interfaces.iter().copied().find(|ip| match ip {
            IpAddr::V6(v6) => !v6.is_loopback() && !v6.is_unicast_link_local(),
            IpAddr::V4(_) => false,
        })
    })
}

/// This machine's interface addresses (none if they cannot be read).
pub fn interface_addresses() -> Vec<IpAddr> {
    if_addrs::get_if_addrs()
        .map(|list| list.into_iter().map(|i| i.ip()).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_server_on_one_address_is_joined_there() {
        assert_eq!(
            join_url("127.0.0.1:9080".parse().unwrap(), &[]),
            "http://127.0.0.1:9080/join"
        );
        assert_eq!(
            join_url("[fd00::5]:9080".parse().unwrap(), &[]),
            "http://[fd00::5]:9080/join"
        );
    }

    #[test]
    fn a_server_on_every_interface_is_joined_at_the_machines_private_address() {
        let ifaces = [
            ip("127.0.0.1"),
            ip("169.254.3.4"),
            ip("fe80::1"),
            ip("203.0.113.9"),
            ip("192.168.1.20"),
        ];
        assert_eq!(
            join_url("0.0.0.0:9080".parse().unwrap(), &ifaces),
            "http://192.168.1.20:9080/join"
        );
        assert_eq!(
            join_url("0.0.0.0:9080".parse().unwrap(), &ifaces[..4]),
            "http://203.0.113.9:9080/join"
        );
        assert_eq!(
            join_url(
                "[::]:80".parse().unwrap(),
                &[ip("::1"), ip("fe80::1"), ip("2001:db8::7")]
            ),
            "http://[2001:db8::7]:80/join"
        );
        assert_eq!(
            join_url("0.0.0.0:9080".parse().unwrap(), &[ip("127.0.0.1")]),
            "http://127.0.0.1:9080/join"
        );
    }
}
