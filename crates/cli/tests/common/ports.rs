//! Ports for servers a test launches, and a server that is not an LLM API.

use super::mock::serve;
use axum::Router;
use axum::http::{StatusCode, header};
use std::net::SocketAddr;

/// A server that answers every path with an HTML page.
pub async fn html_server() -> SocketAddr {
    let app = Router::new().fallback(|| async {
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><body>Welcome to nginx!</body></html>",
        )
    });
    serve(app).await
}

/// The kernel's ephemeral port range (`bind(0)` and outgoing connections take ports from it).
pub fn ephemeral_ports() -> (u16, u16) {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| {
            let mut it = s.split_whitespace().map(|p| p.parse().ok());
            Some((it.next()??, it.next()??))
        })
        .unwrap_or((32768, 60999))
}

/// A port for a server a test launches (and a port with nothing listening on it): below the
/// ephemeral range, so no `bind(0)` of a parallel test and no outgoing connection can take it
/// between this call and the launch; unique within this process, offset by the pid across
/// processes, and free when handed out.
pub fn launch_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let (lo, hi) = ephemeral_ports();
    let (base, span) = if lo >= 11024 {
        (u32::from(lo) - 10000, 10000)
    } else {
        (u32::from(hi) + 1, 65535 - u32::from(hi))
    };
    let start = std::process::id().wrapping_mul(7919) % span;
    for _ in 0..span {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = (base + (start + n) % span) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in {base}..{}", base + span)
}

/// A port with nothing listening on it (see [`launch_port`]).
pub fn dead_port() -> u16 {
    launch_port()
}
