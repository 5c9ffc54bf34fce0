//! `zebrunner-mcp healthcheck`: GET `/healthz` of a running HTTP server and exit 0 when it
//! answers 200, 1 otherwise. For container `HEALTHCHECK`s: the image has no curl.
//!
//! Without `--url` the address comes from the configuration (`listen`, from the file and
//! `ZMCP_LISTEN`; an unspecified address such as `0.0.0.0` is asked on loopback). A server on
//! stdio has no port: when the configured transport is not HTTP and nothing answers there, the
//! check passes, since a stdio container lives exactly as long as its server.

use std::{
    io::{Read as _, Write as _},
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs as _},
    path::Path,
    time::Duration,
};

use anyhow::{Context, bail};
use zebrunner_mcp_server::config::Transport;

use super::setup;
use crate::cli::HealthcheckArgs;
use crate::output::outln;

/// Most of an answer read: the status line is all that matters.
const MAX_ANSWER: u64 = 64 * 1024;

pub fn run(config_file: Option<&Path>, args: HealthcheckArgs) -> anyhow::Result<()> {
    let timeout = Duration::from_secs(args.timeout.max(1));
    let (url, stdio) = match args.url {
        Some(url) => (url, false),
        None => {
            let config = setup::load_config(config_file, Default::default())?;
            (
                healthz_url(config.listen)?,
                config.transport != Transport::Http,
            )
        }
    };
    match get(&url, timeout) {
        Ok(200) => {
            outln!("healthy: {url} answered 200")?;
            Ok(())
        }
        Ok(status) => bail!("unhealthy: {url} answered {status}"),
        Err(Failure::Unreachable(_)) if stdio => {
            outln!("healthy: the transport is stdio, so there is no HTTP port to ask")?;
            Ok(())
        }
        Err(Failure::Unreachable(error)) => bail!("unhealthy: {url}: {error}"),
        Err(Failure::Other(error)) => Err(error.context(format!("unhealthy: {url}"))),
    }
}

/// `/healthz` on the listen address; an unspecified address is asked on loopback.
fn healthz_url(listen: SocketAddr) -> anyhow::Result<url::Url> {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let host = SocketAddr::new(ip, listen.port());
    url::Url::parse(&format!("http://{host}/healthz")).context("the listen address as a URL")
}

enum Failure {
    /// Nothing accepted the connection.
    Unreachable(std::io::Error),
    Other(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Failure::Other(error)
    }
}

/// One HTTP/1.1 GET; the answer's status code.
fn get(url: &url::Url, timeout: Duration) -> Result<u16, Failure> {
    if url.scheme() != "http" {
        return Err(anyhow::anyhow!(
            "only http:// URLs are checked (ask the server on its own address)"
        )
        .into());
    }
    let host = url.host_str().context("the URL has no host")?;
    let port = url.port_or_known_default().unwrap_or(80);
    let addresses: Vec<SocketAddr> = (host.trim_matches(['[', ']']), port)
        .to_socket_addrs()
        .map_err(Failure::Unreachable)?
        .collect();
    let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "no address");
    let mut stream = None;
    for address in addresses {
        match TcpStream::connect_timeout(&address, timeout) {
            Ok(connected) => {
                stream = Some(connected);
                break;
            }
            Err(error) => last = error,
        }
    }
    let mut stream = stream.ok_or(Failure::Unreachable(last))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .context("setting the timeouts")?;
    let target = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_string(),
    };
    let authority = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    };
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: zebrunner-mcp-healthcheck\r\n\
         Accept: application/json\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .context("sending the request")?;
    let mut answer = Vec::new();
    stream
        .take(MAX_ANSWER)
        .read_to_end(&mut answer)
        .context("reading the answer")?;
    Ok(status(&answer)?)
}

/// The status code of an HTTP/1.x answer.
fn status(answer: &[u8]) -> anyhow::Result<u16> {
    let line = answer
        .split(|b| *b == b'\n')
        .next()
        .and_then(|line| std::str::from_utf8(line).ok())
        .unwrap_or_default();
    let mut parts = line.split_whitespace();
    match (parts.next(), parts.next().map(str::parse::<u16>)) {
        (Some(version), Some(Ok(code))) if version.starts_with("HTTP/1.") => Ok(code),
        _ => bail!("not an HTTP answer: {:?}", line.trim_end()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn unspecified_listen_addresses_are_asked_on_loopback() {
        let url = healthz_url("0.0.0.0:8080".parse().unwrap()).unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:8080/healthz");
        let url = healthz_url("[::]:9000".parse().unwrap()).unwrap();
        assert_eq!(url.as_str(), "http://[::1]:9000/healthz");
        let url = healthz_url("10.1.2.3:80".parse().unwrap()).unwrap();
        assert_eq!(url.as_str(), "http://10.1.2.3/healthz");
    }

    #[test]
    fn reads_the_status_line() {
        assert_eq!(status(b"HTTP/1.1 200 OK\r\n\r\n{}").unwrap(), 200);
        assert_eq!(status(b"HTTP/1.0 503 Busy\r\n").unwrap(), 503);
        assert!(status(b"SSH-2.0-OpenSSH\r\n").is_err());
        assert!(status(b"").is_err());
    }

    fn serve_once(answer: &'static str) -> url::Url {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = [0u8; 1024];
            let n = stream.read(&mut request).unwrap();
            let request = String::from_utf8_lossy(&request[..n]).to_string();
            assert!(
                request.starts_with("GET /healthz HTTP/1.1\r\n"),
                "{request}"
            );
            stream.write_all(answer.as_bytes()).unwrap();
        });
        url::Url::parse(&format!("http://{address}/healthz")).unwrap()
    }

    #[test]
    fn gets_the_status_of_a_server() {
        let url = serve_once("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
        assert_eq!(get(&url, Duration::from_secs(2)).ok(), Some(200));
        let url = serve_once("HTTP/1.1 500 Internal Server Error\r\n\r\n");
        assert_eq!(get(&url, Duration::from_secs(2)).ok(), Some(500));
    }

    #[test]
    fn a_closed_port_is_unreachable() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = url::Url::parse(&format!("http://127.0.0.1:{port}/healthz")).unwrap();
        assert!(matches!(
            get(&url, Duration::from_secs(2)),
            Err(Failure::Unreachable(_))
        ));
        let https = url::Url::parse("https://127.0.0.1/healthz").unwrap();
        assert!(matches!(
            get(&https, Duration::from_secs(2)),
            Err(Failure::Other(_))
        ));
    }
}
