//! Fetching client ID metadata documents without becoming an SSRF proxy.
//!
//! [`Fetcher`]: one GET, 5 s in all, at most [`MAX_DOCUMENT_BYTES`],
//! `Accept: application/json`, no proxy, no redirects (one is an error). A host name is
//! resolved by [`VettingResolver`], which refuses the whole answer when any address is one we
//! never fetch from ([`refused_address`]: loopback, private, link-local, shared/CGNAT,
//! multicast, unspecified, reserved, and those inside IPv4-mapped, NAT64 and 6to4 IPv6), and
//! hands the connection exactly the addresses it vetted: the check and the connection use the
//! same addresses. An IP-literal host (which no resolver sees) is checked by
//! [`super::document_url`] before the request.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use url::Url;

use super::{MAX_DOCUMENT_BYTES, excerpt};

/// The whole fetch: connecting, TLS, headers and body.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Why we never fetch from `ip`, or `None` when we may. `allow_loopback` (tests only) admits
/// loopback addresses, and nothing else.
pub fn refused_address(ip: IpAddr, allow_loopback: bool) -> Option<&'static str> {
    match ip {
        IpAddr::V4(ip) => refused_v4(ip, allow_loopback),
        IpAddr::V6(ip) => refused_v6(ip, allow_loopback),
    }
}

fn refused_v4(ip: Ipv4Addr, allow_loopback: bool) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    if a == 127 {
        return (!allow_loopback).then_some("a loopback address");
    }
    if a == 0 {
        Some("an unspecified address (0.0.0.0/8)")
    } else if a == 10 || (a == 172 && (16..=31).contains(&b)) || (a == 192 && b == 168) {
        Some("a private address (RFC 1918)")
    } else if a == 169 && b == 254 {
        Some("a link-local address (169.254.0.0/16)")
    } else if a == 100 && (64..=127).contains(&b) {
        Some("a shared address (carrier-grade NAT, 100.64.0.0/10)")
    } else if (224..=239).contains(&a) {
        Some("a multicast address")
    } else if a >= 240 {
        Some("a reserved or broadcast address (240.0.0.0/4)")
    } else if a == 192 && b == 0 && c == 0 {
        Some("a reserved address (192.0.0.0/24)")
    } else if a == 198 && (b == 18 || b == 19) {
        Some("a reserved address (198.18.0.0/15)")
    } else if (a == 192 && b == 0 && c == 2)
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
    {
        Some("a documentation address")
    } else {
        None
    }
}

fn refused_v6(ip: Ipv6Addr, allow_loopback: bool) -> Option<&'static str> {
    // ::ffff:a.b.c.d reaches a.b.c.d.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return refused_v4(v4, allow_loopback);
    }
    if ip.is_loopback() {
        return (!allow_loopback).then_some("a loopback address");
    }
    let s = ip.segments();
    let embedded = |hi: u16, lo: u16| {
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    if ip.is_unspecified() {
        Some("an unspecified address (::)")
    } else if s[..6] == [0; 6] {
        Some("an IPv4-compatible address (deprecated, ::/96)")
    } else if s[0] & 0xfe00 == 0xfc00 {
        Some("a private address (unique local, fc00::/7)")
    } else if s[0] & 0xffc0 == 0xfe80 {
        Some("a link-local address (fe80::/10)")
    } else if s[0] & 0xffc0 == 0xfec0 {
        Some("a site-local address (deprecated, fec0::/10)")
    } else if s[0] & 0xff00 == 0xff00 {
        Some("a multicast address")
    } else if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4] {
        // NAT64 (64:ff9b::/96) reaches the IPv4 address in its last 32 bits.
        refused_v4(embedded(s[6], s[7]), false)
    } else if s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1 {
        Some("a local-use NAT64 address (64:ff9b:1::/48)")
    } else if s[0] == 0x2002 {
        // 6to4 (2002::/16) reaches the IPv4 address in bits 16..48.
        refused_v4(embedded(s[1], s[2]), false)
    } else if s[0] == 0x2001 && s[1] == 0 {
        Some("a Teredo tunnel address (2001::/32)")
    } else if s[0] == 0x2001 && s[1] == 0x0db8 {
        Some("a documentation address (2001:db8::/32)")
    } else if s[0] == 0x0100 && s[1..4] == [0; 3] {
        Some("a discard-only address (100::/64)")
    } else {
        None
    }
}

/// Whether every address of `host` may be fetched from; when one may not, the whole answer is
/// refused (a name with one internal address is not a public name).
pub fn vet_addresses(
    host: &str,
    addresses: &[SocketAddr],
    allow_loopback: bool,
) -> Result<(), String> {
    if addresses.is_empty() {
        return Err(format!("{} has no address", excerpt(host, 100)));
    }
    for address in addresses {
        if let Some(why) = refused_address(address.ip(), allow_loopback) {
            tracing::warn!(host, address = %address.ip(), why, "client metadata document host refused");
            return Err(format!(
                "{} resolves to {why}; documents are fetched only from public addresses",
                excerpt(host, 100)
            ));
        }
    }
    Ok(())
}

/// A resolver refusal, found again in the request error's chain.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Refused(String);

/// Resolves a document host and returns only addresses [`vet_addresses`] passed: the
/// connection uses exactly what was checked.
struct VettingResolver {
    allow_loopback: bool,
}

impl reqwest::dns::Resolve for VettingResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_loopback = self.allow_loopback;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|_| Refused(format!("{} could not be resolved", excerpt(&host, 100))))?
                .collect();
            vet_addresses(&host, &addresses, allow_loopback).map_err(Refused)?;
            let addresses: reqwest::dns::Addrs = Box::new(addresses.into_iter());
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(addresses)
        })
    }
}

/// A fetched document: its body and `Cache-Control`.
pub(crate) struct Fetched {
    pub(crate) body: Vec<u8>,
    pub(crate) cache_control: Option<String>,
}

/// The HTTP client for metadata documents (see the module documentation).
pub(crate) struct Fetcher {
    client: Result<reqwest::Client, String>,
}

impl Fetcher {
    pub(crate) fn new(allow_loopback_http: bool) -> Self {
        zebrunner_identity::install_crypto_provider();
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(VettingResolver {
                allow_loopback: allow_loopback_http,
            }))
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .https_only(!allow_loopback_http)
            .referer(false)
            .connect_timeout(TIMEOUT)
            .timeout(TIMEOUT)
            .user_agent(concat!("zebrunner-mcp/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string());
        if let Err(error) = &client {
            tracing::error!(%error, "no HTTP client for client metadata documents");
        }
        Self { client }
    }

    /// GET `url` (already checked by [`super::document_url`]): 200 and at most
    /// [`MAX_DOCUMENT_BYTES`], or why not, in words for a person.
    pub(crate) async fn fetch(&self, url: &Url) -> Result<Fetched, String> {
        let client = self
            .client
            .as_ref()
            .map_err(|_| "this server cannot fetch documents now".to_owned())?;
        let mut response = client
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| describe(&e))?;
        let status = response.status();
        if status.is_redirection() {
            return Err(format!(
                "it answered with a redirect (HTTP {}), which is not followed: the document \
                 must be served at its client_id URL itself",
                status.as_u16()
            ));
        }
        if status != reqwest::StatusCode::OK {
            return Err(format!("it answered HTTP {}", status.as_u16()));
        }
        let too_large = || format!("it is larger than {} KiB", MAX_DOCUMENT_BYTES / 1024);
        if response
            .content_length()
            .is_some_and(|n| n > MAX_DOCUMENT_BYTES as u64)
        {
            return Err(too_large());
        }
        let cache_control = response
            .headers()
            .get_all(reqwest::header::CACHE_CONTROL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(", ");
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| describe(&e))? {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched {
            body,
            cache_control: (!cache_control.is_empty()).then_some(cache_control),
        })
    }
}

/// A request error in words: a resolver refusal as it said, else the kind of failure (never
/// the server's own error text, which may name internal details).
fn describe(error: &reqwest::Error) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = source {
        if let Some(refused) = current.downcast_ref::<Refused>() {
            return refused.0.clone();
        }
        source = current.source();
    }
    if error.is_timeout() {
        format!("it did not answer within {} seconds", TIMEOUT.as_secs())
    } else if error.is_connect() {
        "its host could not be reached".into()
    } else if error.is_body() || error.is_decode() {
        "its answer broke off".into()
    } else {
        "it could not be fetched".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(text: &str) -> IpAddr {
        IpAddr::V4(text.parse().unwrap())
    }

    fn v6(text: &str) -> IpAddr {
        IpAddr::V6(text.parse().unwrap())
    }

    #[test]
    fn every_internal_ipv4_range_is_refused() {
        for ip in [
            "127.0.0.1",
            "127.255.255.254",
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "10.255.255.255",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.0.1",
            "192.168.255.255",
            "169.254.169.254",
            "169.254.0.1",
            "100.64.0.1",
            "100.127.255.255",
            "224.0.0.1",
            "239.255.255.255",
            "240.0.0.1",
            "255.255.255.255",
            "192.0.0.8",
            "198.18.0.1",
            "198.19.255.255",
            "192.0.2.1",
            "198.51.100.1",
            "203.0.113.1",
        ] {
            assert!(
                refused_address(v4(ip), false).is_some(),
                "{ip} must be refused"
            );
        }
    }

    #[test]
    fn public_ipv4_addresses_are_fetched_from() {
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.216.34",
            "172.15.255.255",
            "172.32.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "169.253.0.1",
            "192.169.0.1",
            "223.255.255.255",
        ] {
            assert_eq!(refused_address(v4(ip), false), None, "{ip} is public");
        }
    }

    #[test]
    fn every_internal_ipv6_range_is_refused_also_inside_mapped_forms() {
        for ip in [
            "::1",
            "::",
            "::10.0.0.1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
            "ff0e::1",
            // IPv4-mapped forms of each IPv4 range.
            "::ffff:127.0.0.1",
            "::ffff:0.0.0.0",
            "::ffff:10.1.2.3",
            "::ffff:172.16.0.1",
            "::ffff:192.168.1.1",
            "::ffff:169.254.169.254",
            "::ffff:100.64.0.1",
            "::ffff:224.0.0.1",
            "::ffff:255.255.255.255",
            // NAT64 and 6to4 reaching internal IPv4 addresses.
            "64:ff9b::10.0.0.1",
            "64:ff9b::127.0.0.1",
            "64:ff9b::169.254.169.254",
            "64:ff9b:1::1",
            "2002:0a00:0001::1",
            "2002:c0a8:0101::1",
            "2002:7f00:0001::1",
            "2001:0:4136:e378::1",
            "2001:db8::1",
            "100::1",
        ] {
            assert!(
                refused_address(v6(ip), false).is_some(),
                "{ip} must be refused"
            );
        }
    }

    #[test]
    fn public_ipv6_addresses_are_fetched_from() {
        for ip in [
            "2606:4700:4700::1111",
            "2a00:1450:4001:81b::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::8.8.8.8",
            "2002:0808:0808::1",
        ] {
            assert_eq!(refused_address(v6(ip), false), None, "{ip} is public");
        }
    }

    #[test]
    fn the_test_setting_admits_loopback_only() {
        for ip in ["127.0.0.1", "127.1.2.3"] {
            assert_eq!(refused_address(v4(ip), true), None, "{ip}");
        }
        assert_eq!(refused_address(v6("::1"), true), None);
        assert_eq!(refused_address(v6("::ffff:127.0.0.1"), true), None);
        for ip in [
            "10.0.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
        ] {
            assert!(
                refused_address(v4(ip), true).is_some(),
                "{ip} stays refused"
            );
        }
        for ip in ["fd00::1", "fe80::1", "::", "::ffff:10.0.0.1"] {
            assert!(
                refused_address(v6(ip), true).is_some(),
                "{ip} stays refused"
            );
        }
    }

    #[test]
    fn a_host_with_any_internal_address_is_refused() {
        let public: SocketAddr = "93.184.216.34:0".parse().unwrap();
        let private: SocketAddr = "10.0.0.7:0".parse().unwrap();
        assert!(vet_addresses("app.example", &[public], false).is_ok());
        let mixed = vet_addresses("app.example", &[public, private], false).unwrap_err();
        assert!(mixed.contains("private"), "{mixed}");
        assert!(
            !mixed.contains("10.0.0.7"),
            "the address is not echoed: {mixed}"
        );
        assert!(vet_addresses("app.example", &[], false).is_err());
    }

    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_refused_before_connecting() {
        let fetcher = Fetcher::new(false);
        let url = Url::parse("https://localhost:9/client.json").unwrap();
        let error = fetcher.fetch(&url).await.err().unwrap();
        assert!(error.contains("loopback"), "{error}");
    }

    /// A loopback HTTP server answering every request with `status`, `headers` and `body`;
    /// its base URL.
    async fn serve(
        status: u16,
        headers: &'static [(&'static str, &'static str)],
        body: Vec<u8>,
    ) -> String {
        use axum::{http::StatusCode, response::IntoResponse, routing::get};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let app = axum::Router::new().fallback(get(move || {
            let body = body.clone();
            async move {
                let mut response = (StatusCode::from_u16(status).unwrap(), body).into_response();
                for (name, value) in headers {
                    response.headers_mut().insert(*name, value.parse().unwrap());
                }
                response
            }
        }));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://127.0.0.1:{port}")
    }

    fn at(base: &str) -> Url {
        Url::parse(&format!("{base}/client.json")).unwrap()
    }

    #[tokio::test]
    async fn a_document_is_fetched_with_its_cache_control() {
        let base = serve(200, &[("cache-control", "max-age=600")], b"{}".to_vec()).await;
        let fetched = Fetcher::new(true).fetch(&at(&base)).await.unwrap();
        assert_eq!(fetched.body, b"{}");
        assert_eq!(fetched.cache_control.as_deref(), Some("max-age=600"));
    }

    #[tokio::test]
    async fn a_redirect_is_an_error_and_is_not_followed() {
        let base = serve(
            302,
            &[("location", "http://127.0.0.1:9/elsewhere.json")],
            Vec::new(),
        )
        .await;
        let error = Fetcher::new(true).fetch(&at(&base)).await.err().unwrap();
        assert!(error.contains("redirect (HTTP 302)"), "{error}");
    }

    #[tokio::test]
    async fn errors_and_oversized_documents_are_refused() {
        let base = serve(404, &[], b"{}".to_vec()).await;
        let error = Fetcher::new(true).fetch(&at(&base)).await.err().unwrap();
        assert!(error.contains("HTTP 404"), "{error}");
        let base = serve(200, &[], vec![b' '; MAX_DOCUMENT_BYTES + 1]).await;
        let error = Fetcher::new(true).fetch(&at(&base)).await.err().unwrap();
        assert!(error.contains("larger than 16 KiB"), "{error}");
    }

    #[tokio::test]
    async fn without_the_test_setting_plain_http_is_never_fetched() {
        let base = serve(200, &[], b"{}".to_vec()).await;
        assert!(Fetcher::new(false).fetch(&at(&base)).await.is_err());
    }
}
