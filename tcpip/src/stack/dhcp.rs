//! Applying what DHCP gives: the address, the default route, DNS servers.

use std::net::IpAddr;

use smoltcp::socket::{dhcpv4, dns};
use smoltcp::wire::{IpAddress, IpCidr};

use super::{Core, cidr_of};
use crate::config::Cidr;

impl Core {
    /// Polls the DHCP client; gives the new address list when it changed.
    pub(crate) fn poll_dhcp(&mut self) -> Option<Vec<Cidr>> {
        let handle = self.dhcp?;
        let event = match self.sockets.get_mut::<dhcpv4::Socket>(handle).poll()? {
            dhcpv4::Event::Configured(config) => Some((
                config.address,
                config.router,
                config.dns_servers.iter().copied().collect::<Vec<_>>(),
            )),
            dhcpv4::Event::Deconfigured => None,
        };
        self.iface.update_ip_addrs(|addrs| {
            addrs.retain(|cidr| !matches!(cidr, IpCidr::Ipv4(_)));
            if let Some((address, _, _)) = &event {
                // Static IPv4 addresses were dropped just above: there is room.
                let _ = addrs.push(IpCidr::Ipv4(*address));
            }
        });
        self.iface.routes_mut().remove_default_ipv4_route();
        let mut servers: Vec<IpAddress> = self
            .config
            .dns_servers
            .iter()
            .map(|ip| IpAddress::from(*ip))
            .collect();
        if let Some((address, router, dns_servers)) = event {
            tracing::info!(%address, ?router, ?dns_servers, "tcpip: DHCP configured the stack");
            if let Some(router) = router {
                // Just removed: the table has room.
                let _ = self.iface.routes_mut().add_default_ipv4_route(router);
            }
            servers.extend(
                dns_servers
                    .into_iter()
                    .map(|ip| IpAddress::from(IpAddr::V4(ip))),
            );
        } else {
            tracing::info!("tcpip: the DHCP lease is gone");
        }
        servers.truncate(4);
        self.dns_servers = servers.len();
        let dns = self.dns;
        self.sockets
            .get_mut::<dns::Socket>(dns)
            .update_servers(&servers);
        Some(self.iface.ip_addrs().iter().map(cidr_of).collect())
    }
}
